-- China's official working-day calendar as the platform wrote it (cei.calendar.refresh_calendar:
-- each year from the bureau's imported schedule, else the `chinese-calendar` library, else
-- provisional): rename and cast only. The working-day ordinal and
-- every deadline are derived downstream (int_calendar_days, int_working_day_deadlines).

{#- A missing table means nobody refreshed the calendar: say how, rather than "relation does not exist". -#}
{%- if execute -%}
    {%- set calendar = source('reference', 'calendar_days') -%}
    {%- if adapter.get_relation(database=calendar.database, schema=calendar.schema, identifier=calendar.identifier) is none -%}
        {{ exceptions.raise_compiler_error(
            "reference.calendar_days does not exist: the working-day calendar is written from the "
            ~ "chinese-calendar library by cei.calendar.refresh_calendar (transform.run_dbt does it before "
            ~ "dbt; for an ad-hoc run: python -m cei.calendar)") }}
    {%- endif -%}
{%- endif %}

with

source as (

    select * from {{ source('reference', 'calendar_days') }}

),

renamed as (

    select
        calendar_date,
        is_workday,
        is_weekend,
        is_public_holiday,
        is_makeup_workday,
        holiday_name,
        holiday_name_en,
        source as calendar_source,
        year_source,
        year_source = 'provisional' as is_provisional
    from source

),

final as (

    select * from renamed

)

select * from final
