-- The fact tables' per-case flags add up to the on-time indicators exactly: from fct_work_orders
-- and fct_odr_disputes alone, recompute each on-time rate's numerator and denominator per unit
-- and month, assigning a case to a month as the indicator families do
-- (int_indicators_monthly__efficiency, __odr), and compare with mart_indicator_monthly:
--
--   complaint_accept_ontime_rate  投诉 by month of 登记时间        accepted_on_time: true / not null
--   report_verify_ontime_rate     举报 by month of 登记时间        verified_on_time: true / not null
--   complaint_close_ontime_rate   closed: month of 办结时间; open (late): month of its deadline
--                                                                closed_on_time: true / not null
--   odr_ontime_rate               closed disputes by month of closed_at   handled_on_time: true / not null
--
-- The grid ends at the as-of month (a case counted after it, say closed at a time after the
-- as-of, is in no figure). Fails with every differing (indicator, unit, month), and when nothing
-- was compared although the fact tables hold decided cases (a test that compares nothing proves
-- nothing). Reads the whole tables: a flag the as-of turned may sit in any month.

with

work_orders as (

    select * from {{ ref('fct_work_orders') }}

),

disputes as (

    select * from {{ ref('fct_odr_disputes') }}

),

indicators as (

    select
        indicator_code,
        unit_code,
        month,
        numerator,
        denominator
    from {{ ref('mart_indicator_monthly') }}
    where indicator_code in ('complaint_accept_ontime_rate', 'report_verify_ontime_rate',
                             'complaint_close_ontime_rate', 'odr_ontime_rate')

),

-- one row per judged case: the indicator it counts in, its month, and whether it was on time
judged_cases as (

    select
        'complaint_accept_ontime_rate' as indicator_code,
        unit_code,
        cast(date_trunc('month', registered_at_local) as date) as month,
        accepted_on_time as on_time
    from work_orders
    where accepted_on_time is not null

    union all

    select
        'report_verify_ontime_rate',
        unit_code,
        cast(date_trunc('month', registered_at_local) as date),
        verified_on_time
    from work_orders
    where verified_on_time is not null

    union all

    select
        'complaint_close_ontime_rate',
        unit_code,
        cast(date_trunc('month', case when is_open then close_deadline_at_local else closed_at_local end) as date),
        closed_on_time
    from work_orders
    where closed_on_time is not null

    union all

    select
        'odr_ontime_rate',
        unit_code,
        cast(date_trunc('month', closed_at_local) as date),
        handled_on_time
    from disputes
    where handled_on_time is not null
        and not is_open

),

from_flags as (

    select
        indicator_code,
        unit_code,
        month,
        count(*) filter (where on_time) as numerator,
        count(*) as denominator
    from judged_cases
    where month <= {{ as_of_month() }}
    group by 1, 2, 3

),

compared as (

    select
        coalesce(indicators.indicator_code, from_flags.indicator_code) as indicator_code,
        coalesce(indicators.unit_code, from_flags.unit_code) as unit_code,
        coalesce(indicators.month, from_flags.month) as month,
        indicators.numerator as indicator_numerator,
        indicators.denominator as indicator_denominator,
        coalesce(from_flags.numerator, 0) as flags_numerator,
        coalesce(from_flags.denominator, 0) as flags_denominator
    from indicators
    full outer join from_flags
        on from_flags.indicator_code = indicators.indicator_code
        and from_flags.unit_code = indicators.unit_code
        and from_flags.month = indicators.month

),

differing as (

    select
        *,
        case
            when indicator_denominator is null then 'counted from the flags, not in mart_indicator_monthly'
            else 'the flags add up to another figure'
        end as problem
    from compared
    where indicator_numerator is distinct from flags_numerator
        or indicator_denominator is distinct from flags_denominator

),

-- Not vacuous: a decided case (a complaint with its acceptance decision, a report closed, a
-- dispute closed, in a month of the grid) is always judged met or missed, so once there is one,
-- some figure must have been compared on both sides. Read off the cases' own timestamps, not
-- the flags: flags all left null, with indicators all zero, fail here.
decided_cases as (

    select registered_at_local as counted_at
    from work_orders
    where (kind = '投诉' and accepted_at_local is not null)
        or (kind = '举报' and closed_at_local is not null)

    union all

    select closed_at_local
    from disputes
    where status <> '处理中' and closed_at_local is not null

),

vacuous as (

    select
        cast(null as text) as indicator_code,
        cast(null as text) as unit_code,
        cast(null as date) as month,
        cast(null as numeric) as indicator_numerator,
        cast(null as numeric) as indicator_denominator,
        cast(null as bigint) as flags_numerator,
        cast(null as bigint) as flags_denominator,
        'nothing compared although the fact tables hold decided cases' as problem
    where exists (select from decided_cases where counted_at < {{ as_of_month() }} + interval '1 month')
        and not exists (select from compared where indicator_denominator > 0 and flags_denominator > 0)

)

select * from differing
union all
select * from vacuous
