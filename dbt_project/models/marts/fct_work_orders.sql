-- 12315 / 12345 work orders (工单), one row per work_order_id in its latest state as of the run,
-- with its assessment unit. No personal data: the consumer's name is never stored and the
-- phone hash stays in staging.

-- Incremental: each build rewrites only the rows of the keys new versions touch
-- (macros/incremental/newest_versions.sql); the build schema is kept from one publication to the next.

{{ config(**newest_versions_config('stg_hotline__work_orders', ['work_order_id'])) }}

with

work_orders as (

    select * from {{ ref('int_work_orders_latest') }}
    where {{ newest_versions_touched(ref('stg_hotline__work_orders'), ['work_order_id']) }}

),

final as (

    select
        work_order_id,
        kind,
        channel,
        region_code,
        unit_code,
        handling_unit,
        respondent_name,
        respondent_uscc,
        category,
        is_tourism,
        disputed_amount,
        recovered_loss,
        outcome,
        callback,
        registered_at,
        registered_at_local,
        accepted_at,
        accepted_at_local,
        closed_at,
        closed_at_local,
        updated_at,
        field_warnings,
        version_count,
        load_file_id,
        delivery_date,
        source_row
    from work_orders

)

select * from final
