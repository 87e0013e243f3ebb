-- dim_date is the State Council's calendar as the library ships it, and the deadline rule
-- applies to it as indicators.md's example says: Sunday 2025-09-28 and Saturday 2025-10-11 are
-- make-up working days, 2025-10-01 … 10-08 (National Day, Mid-autumn) are off, and 7 working days
-- after Friday 2025-09-26 end on 2025-10-13 23:59:59. Fails with each day or deadline that differs.

with

expected_days (date_day, is_workday) as (

    values
        (date '2025-09-26', true),
        (date '2025-09-27', false),
        (date '2025-09-28', true),
        (date '2025-10-01', false),
        (date '2025-10-06', false),
        (date '2025-10-08', false),
        (date '2025-10-09', true),
        (date '2025-10-11', true),
        (date '2025-10-12', false),
        (date '2025-10-13', true)

),

day_problems as (

    select
        'dim_date ' || expected_days.date_day || ': is_workday should be ' || expected_days.is_workday
            || ', is ' || coalesce(dim_date.is_workday::text, 'missing') as problem
    from expected_days
    left join {{ ref('dim_date') }} as dim_date
        on dim_date.date_day = expected_days.date_day
    where dim_date.is_workday is distinct from expected_days.is_workday

),

deadline_problems as (

    -- The lookup every SLA clock uses, for N = 7 (whatever N the settings configure, the rule
    -- itself must give the spec's answer).
    select
        'the 7th working day after 2025-09-26 should be 2025-10-13, is ' || coalesce(target.date_day::text, 'missing')
            as problem
    from {{ ref('dim_date') }} as start_day
    left join {{ ref('dim_date') }} as target
        on target.workday_ordinal = start_day.workday_ordinal + 7
        and target.is_workday
    where start_day.date_day = date '2025-09-26'
        and target.date_day is distinct from date '2025-10-13'

    {%- if var('deadline_complaint_accept_days') | int == 7 %}

    union all

    select
        'int_working_day_deadlines: 7 working days after 2025-09-26 should end 2025-10-13 23:59:59, end '
            || coalesce(deadline_at_local::text, 'null') as problem
    from {{ ref('int_working_day_deadlines') }}
    where start_date = date '2025-09-26'
        and working_days = 7
        and deadline_at_local is distinct from timestamp '2025-10-13 23:59:59'
    {%- endif %}

)

select problem from day_problems
union all
select problem from deadline_problems
