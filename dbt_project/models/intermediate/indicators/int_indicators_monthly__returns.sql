-- Indicator family "no-reason returns" (线下无理由退货, indicators.md), per unit and reporting
-- month, in the long format of mart_indicator_monthly. Counts and sums: value = numerator = the
-- figure, denominator null. A report counts for the month it reports on (报送月份), in its latest
-- version as of the run.
--
--   return_enterprises  无理由退货企业数        distinct enterprises with a report for the month
--                                               (int_indicator_distinct_members)
--   return_items        无理由退货件数          sum of 退货件数 of the month's reports
--   return_refund_yuan  无理由退货退款金额（元）  sum of 退款金额 of the month's reports

-- Incremental by month: a build recomputes the months a change can reach (macros/incremental/indicator_months.sql).

{{ config(**indicator_months_config()) }}

with

return_reports as (

    select * from {{ ref('int_return_reports_latest') }}

),

members as (

    select * from {{ ref('int_indicator_distinct_members') }}

),

monthly_reports as (

    select
        unit_code,
        cast(date_trunc('month', report_month) as date) as month,
        sum(coalesce(return_items, 0)) as return_items,
        sum(coalesce(refund_amount, 0)) as refund_amount
    from return_reports
    where {{ indicator_months_since('report_month') }}
    group by 1, 2

),

figures as (

    select
        indicator_code,
        unit_code,
        month,
        cast(count(distinct member_id) as numeric) as numerator,
        cast(null as numeric) as denominator
    from members
    where indicator_code = 'return_enterprises'
        and {{ indicator_months_since('month') }}
    group by 1, 2, 3

    union all

    select
        'return_items' as indicator_code,
        unit_code,
        month,
        cast(return_items as numeric) as numerator,
        cast(null as numeric) as denominator
    from monthly_reports

    union all

    select
        'return_refund_yuan' as indicator_code,
        unit_code,
        month,
        cast(refund_amount as numeric) as numerator,
        cast(null as numeric) as denominator
    from monthly_reports

),

final as (

    {{ indicator_family_rows('returns') }}

)

select * from final
