-- Every day of the official calendar with its working-day ordinal: the number of working days
-- from the calendar's first day up to and including this day. The N-th working day after a
-- date d is then the working day whose ordinal is ordinal(d) + N — whether or not d itself is a
-- working day, since the start day never counts (indicators.md). provisional_ordinal counts the
-- provisional days the same way, so that a deadline lookup knows whether it crossed one, and
-- next_provisional_date is the first provisional day after this one. Days outside the
-- calendar's years are absent, never guessed.

with

days as (

    select * from {{ ref('stg_reference__calendar_days') }}

),

final as (

    select
        calendar_date,
        is_workday,
        is_weekend,
        is_public_holiday,
        is_makeup_workday,
        holiday_name,
        holiday_name_en,
        calendar_source,
        year_source,
        is_provisional,
        cast(count(*) filter (where is_workday) over (order by calendar_date) as integer) as workday_ordinal,
        cast(count(*) filter (where is_provisional) over (order by calendar_date) as integer) as provisional_ordinal,
        min(calendar_date) filter (where is_provisional)
            over (order by calendar_date rows between 1 following and unbounded following) as next_provisional_date
    from days

)

select * from final
