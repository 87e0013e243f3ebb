-- Hotline work orders in their latest state as of the run: one row per work_order_id, with the
-- assessment unit. Versions delivered after the as-of date are not seen (a rerun for an earlier
-- night reproduces its figures). Newest wins: updated_at desc, then delivery_date desc,
-- load_file_id desc, source_row desc. The consumer's phone hash stays behind in staging.

-- Incremental: each build recomputes only the keys new versions touch (macros/newest_versions.sql).
-- The indicator families read it by month: its dates are indexed.

{{ config(**newest_versions_config('stg_hotline__work_orders', ['work_order_id'],
                                  indexes=['registered_at_local', 'closed_at_local'])) }}

with

versions as (

    select * from {{ ref('stg_hotline__work_orders') }}
    where delivery_date <= {{ as_of_date() }}
        and {{ newest_versions_touched(ref('stg_hotline__work_orders'), ['work_order_id']) }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by work_order_id
            order by {{ newest_wins_order('updated_at') }}
        ) as version_rank,
        count(*) over (partition by work_order_id) as version_count
    from versions

),

latest as (

    select * from ranked
    where version_rank = 1

),

region_units as (

    select * from {{ ref('int_region_units') }}

),

final as (

    select
        latest.work_order_id,
        latest.kind,
        latest.channel,
        latest.registered_at,
        latest.registered_at_local,
        latest.accepted_at,
        latest.accepted_at_local,
        latest.closed_at,
        latest.closed_at_local,
        latest.updated_at,
        latest.region_code,
        region_units.unit_code,
        latest.handling_unit,
        latest.respondent_name,
        latest.respondent_uscc,
        latest.category,
        latest.is_tourism,
        latest.disputed_amount,
        latest.recovered_loss,
        latest.outcome,
        latest.callback,
        latest.field_warnings,
        latest.version_count,
        latest.load_file_id,
        latest.delivery_date,
        latest.source_row
    from latest
    left join region_units
        on region_units.region_code = latest.region_code

)

select * from final
