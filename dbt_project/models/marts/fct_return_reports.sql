-- Offline no-reason-return monthly reports (线下无理由退货), one row per enterprise and reporting
-- month in the latest report as of the run, with its assessment unit.

-- Incremental: each build rewrites only the rows of the keys new versions touch
-- (macros/incremental/newest_versions.sql); the build schema is kept from one publication to the next.

{{ config(**newest_versions_config('stg_returns__reports', ['enterprise_uscc', 'report_month'])) }}

with

reports as (

    select * from {{ ref('int_return_reports_latest') }}
    where {{ newest_versions_touched(ref('stg_returns__reports'), ['enterprise_uscc', 'report_month']) }}

),

final as (

    select
        enterprise_uscc,
        report_month,
        enterprise_name,
        region_code,
        unit_code,
        committed_on,
        return_items,
        refund_amount,
        field_warnings,
        version_count,
        load_file_id,
        delivery_date,
        source_row
    from reports

)

select * from final
