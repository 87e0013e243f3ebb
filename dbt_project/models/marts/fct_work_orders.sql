-- 12315 / 12345 work orders (工单), one row per work_order_id in its latest state as of the run,
-- with its assessment unit. No personal data: the consumer's name is never stored and the
-- phone hash stays in staging.

with

work_orders as (

    select * from {{ ref('int_work_orders_latest') }}

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
