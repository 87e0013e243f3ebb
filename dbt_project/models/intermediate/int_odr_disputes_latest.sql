-- ODR disputes in their latest state as of the run: one row per dispute_id, with the assessment
-- unit. Newest wins: updated_at desc, then delivery_date desc, load_file_id desc, source_row desc.

-- Incremental: each build recomputes only the keys new versions touch (macros/newest_versions.sql).

{{ config(**newest_versions_config('stg_odr__disputes', ['dispute_id'], indexes=['filed_at_local', 'closed_at_local'])) }}

with

versions as (

    select * from {{ ref('stg_odr__disputes') }}
    where delivery_date <= {{ as_of_date() }}
        and {{ newest_versions_touched(ref('stg_odr__disputes'), ['dispute_id']) }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by dispute_id
            order by {{ newest_wins_order('updated_at') }}
        ) as version_rank,
        count(*) over (partition by dispute_id) as version_count
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
        latest.dispute_id,
        latest.enterprise_uscc,
        latest.enterprise_name,
        latest.region_code,
        region_units.unit_code,
        latest.status,
        latest.disputed_amount,
        latest.filed_at,
        latest.filed_at_local,
        latest.closed_at,
        latest.closed_at_local,
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
