-- Indicator family "ODR" (源头治理, indicators.md), per unit and local month, in the long format
-- of mart_indicator_monthly. A dispute is closed in P when its closing time falls in P and its
-- status is a closing one (和解成功, 和解失败, 转行政调解) — the same rule as int_sla_clocks.
--
--   odr_share 源头化解占比       numerator: disputes closed in the month with status 和解成功;
--                               denominator: that numerator + 投诉 work orders closed in the month
--   odr_settle_rate 和解成功率   disputes closed in the month with 和解成功 / disputes closed in the month
--   odr_ontime_rate 按时处理率   disputes closed in the month within N = deadline_odr_days working
--                               days of filed_at / disputes closed in the month
--   odr_active_enterprises 活跃企业数  distinct enterprises with a dispute filed in the month
--                               (int_indicator_distinct_members); value = the count, denominator null

-- Incremental by month: a build recomputes the months a change can reach (macros/incremental/indicator_months.sql).

{{ config(**indicator_months_config()) }}

with

disputes as (

    select * from {{ ref('int_odr_disputes_latest') }}

),

work_orders as (

    select * from {{ ref('int_work_orders_latest') }}

),

clocks as (

    select * from {{ ref('int_sla_clocks') }}

),

members as (

    select * from {{ ref('int_indicator_distinct_members') }}

),

closed_disputes as (

    select
        unit_code,
        cast(date_trunc('month', closed_at_local) as date) as month,
        count(*) filter (where status = '和解成功') as settled,
        count(*) as closed
    from disputes
    where closed_at_local is not null
        and {{ indicator_months_since('closed_at_local') }}
        and status in ('和解成功', '和解失败', '转行政调解')
    group by 1, 2

),

closed_complaints as (

    select
        unit_code,
        cast(date_trunc('month', closed_at_local) as date) as month,
        count(*) as closed
    from work_orders
    where kind = '投诉'
        and closed_at_local is not null
        and {{ indicator_months_since('closed_at_local') }}
    group by 1, 2

),

share_figures as (

    select
        'odr_share' as indicator_code,
        coalesce(closed_disputes.unit_code, closed_complaints.unit_code) as unit_code,
        coalesce(closed_disputes.month, closed_complaints.month) as month,
        coalesce(closed_disputes.settled, 0) as numerator,
        coalesce(closed_disputes.settled, 0) + coalesce(closed_complaints.closed, 0) as denominator
    from closed_disputes
    full outer join closed_complaints
        on closed_complaints.unit_code = closed_disputes.unit_code
        and closed_complaints.month = closed_disputes.month

),

settle_figures as (

    select
        'odr_settle_rate' as indicator_code,
        unit_code,
        month,
        settled as numerator,
        closed as denominator
    from closed_disputes

),

ontime_figures as (

    select
        'odr_ontime_rate' as indicator_code,
        unit_code,
        stop_month as month,
        count(*) filter (where sla_status = 'met') as numerator,
        count(*) filter (where sla_status in ('met', 'missed')) as denominator,
        bool_or(calendar_status = 'provisional') as provisional_calendar
    from clocks
    where clock_code = 'odr_handle'
        and not is_open
        and {{ indicator_months_since('stop_month') }}
    group by 1, 2, 3

),

enterprise_figures as (

    select
        indicator_code,
        unit_code,
        month,
        count(distinct member_id) as numerator,
        cast(null as bigint) as denominator
    from members
    where indicator_code = 'odr_active_enterprises'
        and {{ indicator_months_since('month') }}
    group by 1, 2, 3

),

figures as (

    select indicator_code, unit_code, month, numerator, denominator, false as provisional_calendar from share_figures
    union all
    select indicator_code, unit_code, month, numerator, denominator, false from settle_figures
    union all
    select indicator_code, unit_code, month, numerator, denominator, provisional_calendar from ontime_figures
    union all
    select indicator_code, unit_code, month, numerator, denominator, false from enterprise_figures

),

final as (

    {{ indicator_family_rows('odr', calendar=true) }}

)

select * from final
