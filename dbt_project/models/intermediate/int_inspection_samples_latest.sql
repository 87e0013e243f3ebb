-- Sampled batches in their latest state as of the run: one row per sample_id, with the
-- assessment unit. Newest wins (a re-test may overturn a result): updated_at desc, then
-- delivery_date desc, load_file_id desc, source_row desc.

-- Incremental: each build recomputes only the keys new versions touch (macros/newest_versions.sql).

{{ config(**newest_versions_config('stg_inspection__samples', ['sample_id'])) }}

with

versions as (

    select * from {{ ref('stg_inspection__samples') }}
    where delivery_date <= {{ as_of_date() }}
        and {{ newest_versions_touched(ref('stg_inspection__samples'), ['sample_id']) }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by sample_id
            order by {{ newest_wins_order('updated_at') }}
        ) as version_rank,
        count(*) over (partition by sample_id) as version_count
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
        latest.sample_id,
        latest.sampled_on,
        latest.region_code,
        region_units.unit_code,
        latest.product_category,
        latest.sales_channel,
        latest.platform_name,
        latest.enterprise_name,
        latest.enterprise_uscc,
        latest.inspection_result,
        latest.failed_items,
        latest.updated_at,
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
