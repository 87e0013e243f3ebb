-- The date dimension (日期维表): China's official working-day calendar, one row per day of every
-- year the maintained library `chinese-calendar` covers (written into reference.calendar_days by
-- the platform before each dbt run). is_workday honours public holidays and make-up working days
-- (调休). A day outside those years is absent, never guessed.

with

days as (

    select * from {{ ref('int_calendar_days') }}

),

final as (

    select
        calendar_date as date_day,
        cast(extract(year from calendar_date) as integer) as year,
        cast(extract(quarter from calendar_date) as integer) as quarter,
        cast(date_trunc('month', calendar_date) as date) as month,
        to_char(calendar_date, 'YYYY-MM') as month_period,
        to_char(calendar_date, 'YYYY"Q"Q') as quarter_period,
        to_char(calendar_date, 'YYYY') as year_period,
        cast(extract(isodow from calendar_date) as integer) as day_of_week,
        is_weekend,
        is_workday,
        is_public_holiday,
        is_makeup_workday,
        holiday_name,
        workday_ordinal,
        calendar_source,
        year_source,
        case when is_provisional then 'provisional' else 'official' end as calendar_status
    from days

)

select * from final
