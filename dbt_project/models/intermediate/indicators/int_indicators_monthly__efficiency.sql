-- Indicator family "efficiency" (维权效能, indicators.md), per unit and local month, in the long
-- format of mart_indicator_monthly. Deadlines and their judgement at as-of come from
-- int_sla_clocks (working days on the official calendar, N from the deadline_* vars).
--
--   complaint_accept_ontime_rate 投诉按时受理率
--     numerator   投诉 registered in the month whose acceptance decision (受理 or 不予受理) is at or
--                 before its deadline (N = deadline_complaint_accept_days working days after 登记时间)
--     denominator 投诉 registered in the month, except those with no decision whose deadline is
--                 after as-of
--   complaint_close_ontime_rate 投诉按时办结率
--     numerator   accepted 投诉 (受理时间 set, outcome not 不予受理) closed in the month within
--                 N = deadline_complaint_mediation_days working days of 受理时间
--     denominator accepted 投诉 closed in the month, plus accepted 投诉 still open at as-of whose
--                 deadline fell in the month (at or before as-of)
--   mediation_success_rate 调解成功率
--     numerator   投诉 closed in the month with outcome 调解成功
--     denominator 投诉 closed in the month with outcome 调解成功 or 调解终止
--   report_verify_ontime_rate 举报按时核查率
--     numerator   举报 registered in the month closed with 已立案 or 不予立案 within
--                 N = deadline_report_verify_days working days of 登记时间
--     denominator 举报 registered in the month, except those still open whose deadline is after as-of

-- Incremental by month: a build recomputes the months a change can reach (macros/incremental/indicator_months.sql).

{{ config(**indicator_months_config()) }}

with

-- not materialized: read twice below, PostgreSQL would otherwise materialise every row of the
-- table before the month filters apply (a night read all of history)
clocks as not materialized (

    select * from {{ ref('int_sla_clocks') }}

),

work_orders as (

    select * from {{ ref('int_work_orders_latest') }}

),

-- "registered in P" clocks: judged by the month the clock started; pending ones are left out
by_start_month as (

    select
        case clock_code
            when 'complaint_accept' then 'complaint_accept_ontime_rate'
            when 'report_verify' then 'report_verify_ontime_rate'
        end as indicator_code,
        unit_code,
        start_month as month,
        count(*) filter (where sla_status = 'met') as numerator,
        count(*) filter (where sla_status in ('met', 'missed')) as denominator,
        bool_or(calendar_status = 'provisional') as provisional_calendar
    from clocks
    where clock_code in ('complaint_accept', 'report_verify')
        and {{ indicator_months_since('start_month') }}
    group by 1, 2, 3

),

-- accepted complaints: closed ones in their closing month, overdue open ones in their deadline month
complaint_close as (

    select
        unit_code,
        case when is_open then deadline_month else stop_month end as month,
        sla_status,
        calendar_status
    from clocks
    where clock_code = 'complaint_close'
        and (not is_open or sla_status = 'missed')
        and ({{ indicator_months_since('stop_month') }} or {{ indicator_months_since('deadline_month') }})

),

complaint_close_figures as (

    select
        'complaint_close_ontime_rate' as indicator_code,
        unit_code,
        month,
        count(*) filter (where sla_status = 'met') as numerator,
        count(*) filter (where sla_status in ('met', 'missed')) as denominator,
        bool_or(calendar_status = 'provisional') as provisional_calendar
    from complaint_close
    group by 1, 2, 3

),

mediation_figures as (

    select
        'mediation_success_rate' as indicator_code,
        unit_code,
        cast(date_trunc('month', closed_at_local) as date) as month,
        count(*) filter (where outcome = '调解成功') as numerator,
        count(*) filter (where outcome in ('调解成功', '调解终止')) as denominator,
        false as provisional_calendar
    from work_orders
    where kind = '投诉'
        and closed_at_local is not null
        and {{ indicator_months_since('closed_at_local') }}
    group by 1, 2, 3

),

figures as (

    select indicator_code, unit_code, month, numerator, denominator, provisional_calendar from by_start_month
    union all
    select indicator_code, unit_code, month, numerator, denominator, provisional_calendar from complaint_close_figures
    union all
    select indicator_code, unit_code, month, numerator, denominator, provisional_calendar from mediation_figures

),

final as (

    {{ indicator_family_rows('efficiency', calendar=true) }}

)

select * from final
