-- Every day of the official calendar with its working-day ordinal: the number of working days
-- from the calendar's first day up to and including this day. The N-th working day after a
-- date d is then the working day whose ordinal is ordinal(d) + N — whether or not d itself is a
-- working day, since the start day never counts (indicators.md). Days outside the library's
-- years are absent, never guessed.

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
        cast(count(*) filter (where is_workday) over (order by calendar_date) as integer) as workday_ordinal
    from days

)

select * from final
