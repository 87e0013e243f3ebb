-- Repeat complainants (特殊投诉 / 职业索赔), by pseudonymous key: per reporting period (month,
-- quarter, year: int_period_months) and per window of `window_days` days ending at the run's
-- as-of, the complainant's work orders, complaints, the enterprises complained about, the units
-- that handled them, and serial_flag by the bureau's rule (seeds/complainant_rules.csv):
--
--   serial in a window  at least min_complaints 投诉 registered in a window of window_days local
--                       days (the end day and the window_days - 1 days before it) against at least
--                       min_enterprises distinct respondents
--   rolling row         period_type 'rolling': the window ending on the as-of date; serial_flag = that
--                       window is serial
--   period row          serial_flag = serial in some window ending on a day of the period up to the
--                       as-of. Only the period's first day and the days it filed a complaint on can
--                       be such a window's best end (a window ending on any other day holds no more
--                       than one of those), so those are the windows judged.
--
-- Work orders count in the period they were registered in (local time), any kind; complaints are
-- 投诉; enterprises are the distinct respondents of those complaints (by USCC, else by name, as
-- mart_enterprise_complaints identifies them); units, the distinct units of the work orders.
-- Listed: a complainant with at least listed_min_work_orders work orders in the period or window,
-- or serial in it. Counts and the key only: never a name or a number (int_work_order_complainants).

with

work_orders as (

    select * from {{ ref('int_work_orders_latest') }}

),

complainants as (

    select * from {{ ref('int_work_order_complainants') }}
    where complainant_key is not null

),

period_months as (

    select * from {{ ref('int_period_months') }}

),

rules as (

    select
        max(threshold) filter (where rule_code = 'window_days') as window_days,
        max(threshold) filter (where rule_code = 'min_complaints') as min_complaints,
        max(threshold) filter (where rule_code = 'min_enterprises') as min_enterprises,
        max(threshold) filter (where rule_code = 'listed_min_work_orders') as listed_min_work_orders
    from {{ ref('complainant_rules') }}

),

cases as (

    select
        complainants.complainant_key,
        work_orders.work_order_id,
        work_orders.kind,
        work_orders.unit_code,
        cast(work_orders.registered_at_local as date) as registered_on,
        -- the respondent, as mart_enterprise_complaints identifies it
        coalesce(work_orders.respondent_uscc, nullif(btrim(work_orders.respondent_name), '')) as enterprise_id
    from work_orders
    inner join complainants
        on complainants.work_order_id = work_orders.work_order_id

),

-- a complainant with a single work order is never listed: left out early (most callers)
repeat_cases as (

    select cases.*
    from cases
    where cases.complainant_key in (
        select complainant_key
        from cases
        group by complainant_key
        having count(*) >= (select least(listed_min_work_orders, min_complaints) from rules)
    )

),

complaints as (

    select * from repeat_cases
    where kind = '投诉'

),

-- the windows judged: each day a complainant filed a complaint on, each grid month's first day
-- (every period starts on one) and the as-of date, for complainants with enough complaints at all
window_ends as (

    select distinct complainant_key, registered_on as window_end
    from complaints
    where complainant_key in (
        select complainant_key
        from complaints
        group by complainant_key
        having count(*) >= (select min_complaints from rules)
    )

),

candidate_windows as (

    select complainant_key, window_end from window_ends

    union

    select keys.complainant_key, starts.month as window_end
    from (select distinct complainant_key from window_ends) as keys
    cross join (select distinct month from period_months) as starts

    union

    select distinct complainant_key, {{ as_of_date() }} as window_end
    from window_ends

),

serial_windows as (

    select
        candidate_windows.complainant_key,
        candidate_windows.window_end
    from candidate_windows
    cross join rules
    inner join complaints
        on complaints.complainant_key = candidate_windows.complainant_key
        and complaints.registered_on between candidate_windows.window_end - (rules.window_days - 1)
                                         and candidate_windows.window_end
    group by candidate_windows.complainant_key, candidate_windows.window_end, rules.min_complaints,
        rules.min_enterprises
    having count(*) >= rules.min_complaints
        and count(distinct complaints.enterprise_id) >= rules.min_enterprises

),

periods as (

    select distinct period, period_type, period_start, period_end
    from period_months

),

rolling as (

    select
        to_char({{ as_of_date() }}, 'YYYY-MM-DD') as period,
        'rolling' as period_type,
        {{ as_of_date() }} - (rules.window_days - 1) as period_start,
        {{ as_of_date() }} as period_end
    from rules

),

case_periods as (

    select periods.period, periods.period_type, periods.period_start, periods.period_end, repeat_cases.*
    from repeat_cases
    inner join period_months
        on period_months.month = cast(date_trunc('month', repeat_cases.registered_on) as date)
    inner join periods
        on periods.period = period_months.period

    union all

    select rolling.period, rolling.period_type, rolling.period_start, rolling.period_end, repeat_cases.*
    from repeat_cases
    inner join rolling
        on repeat_cases.registered_on between rolling.period_start and rolling.period_end

),

counted as (

    select
        period,
        period_type,
        period_start,
        period_end,
        complainant_key,
        count(*) as work_orders,
        count(*) filter (where kind = '投诉') as complaints,
        count(distinct enterprise_id) filter (where kind = '投诉') as enterprises,
        count(distinct unit_code) as units
    from case_periods
    group by 1, 2, 3, 4, 5

),

-- the rows some serial window ends in (a join on the key: a correlated test per row read every
-- window for every row)
serial_periods as (

    select distinct counted.period, counted.complainant_key
    from counted
    inner join serial_windows
        on serial_windows.complainant_key = counted.complainant_key
        and serial_windows.window_end between counted.period_start
                                          and least(counted.period_end, {{ as_of_date() }})
        -- the rolling row is judged on its own window only
        and (counted.period_type <> 'rolling' or serial_windows.window_end = counted.period_end)

),

flagged as (

    select
        counted.*,
        serial_periods.complainant_key is not null as serial_flag
    from counted
    left join serial_periods
        on serial_periods.period = counted.period
        and serial_periods.complainant_key = counted.complainant_key

),

final as (

    select
        period,
        period_type,
        period_start,
        period_end,
        complainant_key,
        work_orders,
        complaints,
        enterprises,
        units,
        serial_flag
    from flagged
    where serial_flag
        or work_orders >= (select listed_min_work_orders from rules)

)

select * from final
