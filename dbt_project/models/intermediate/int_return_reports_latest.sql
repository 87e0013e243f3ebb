-- No-reason-return monthly reports in their latest state as of the run: one row per
-- (enterprise_uscc, report_month), with the assessment unit. A report carries no update
-- timestamp, so the later delivery replaces the earlier one (docs/feeds.md): delivery_date desc,
-- load_file_id desc, source_row desc.

-- Incremental: each build recomputes only the keys new versions touch (macros/newest_versions.sql).

{{ config(**newest_versions_config('stg_returns__reports', ['enterprise_uscc', 'report_month'])) }}

with

versions as (

    select * from {{ ref('stg_returns__reports') }}
    where delivery_date <= {{ as_of_date() }}
        and {{ newest_versions_touched(ref('stg_returns__reports'), ['enterprise_uscc', 'report_month']) }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by enterprise_uscc, report_month
            order by {{ newest_wins_order() }}
        ) as version_rank,
        count(*) over (partition by enterprise_uscc, report_month) as version_count
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
        latest.enterprise_uscc,
        latest.report_month,
        latest.enterprise_name,
        latest.region_code,
        region_units.unit_code,
        latest.committed_on,
        latest.return_items,
        latest.refund_amount,
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
