-- The members counted by the distinct-count indicators, per unit and local month, so that a
-- month, a quarter and a year each count distinct members over the whole period (indicators.md:
-- never a sum of monthly counts). One row per (indicator_code, unit_code, month, member_id):
--
--   odr_active_enterprises  ODR活跃企业数     enterprises with a dispute filed in the month
--   return_enterprises      无理由退货企业数   enterprises with a no-reason-return report for the month

-- Incremental by month, like the families that read it (macros/incremental/indicator_months.sql).

{{ config(**indicator_months_config(['indicator_code', 'unit_code', 'month', 'member_id'], whole_months=false)) }}

with

disputes as (

    select * from {{ ref('int_odr_disputes_latest') }}

),

return_reports as (

    select * from {{ ref('int_return_reports_latest') }}

),

members as (

    select
        'odr_active_enterprises' as indicator_code,
        unit_code,
        cast(date_trunc('month', filed_at_local) as date) as month,
        enterprise_uscc as member_id
    from disputes
    where enterprise_uscc is not null
        and {{ indicator_months_since('filed_at_local') }}

    union

    select
        'return_enterprises' as indicator_code,
        unit_code,
        cast(date_trunc('month', report_month) as date) as month,
        enterprise_uscc as member_id
    from return_reports
    where enterprise_uscc is not null
        and {{ indicator_months_since('report_month') }}

),

final as (

    select * from members

)

select * from final
