-- Every indicator per assessment unit and local month, in one long table (indicators.md):
-- (unit_code, unit_name, month, indicator_code, numerator, denominator, value, calendar_status).
--
-- Each indicator family is one model in models/intermediate/indicators/ that returns
-- (unit_code, month, indicator_code, numerator, denominator, value) on the int_unit_months grid.
-- To add a family: write that model, list it below, add its codes to seeds/ref_indicators.csv
-- and to the accepted values in _marts.yml. A rate has numerator and denominator and value =
-- numerator / denominator (null when the denominator is 0); a count or sum has value = the count
-- or sum and a null denominator.

{{ config(pre_hook=without_jit()) }}

{%- set indicator_families = [
    'int_indicators_monthly__satisfaction',
    'int_indicators_monthly__efficiency',
    'int_indicators_monthly__hotline_totals',
    'int_indicators_monthly__odr',
    'int_indicators_monthly__returns',
    'int_indicators_monthly__inspection',
] %}

with

units as (

    select * from {{ ref('dim_unit') }}

),

indicators as (

    {% for family in indicator_families %}
    select
        unit_code,
        month,
        indicator_code,
        numerator,
        denominator,
        value,
        calendar_status
    from {{ ref(family) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        indicators.unit_code,
        units.unit_name,
        cast(indicators.month as date) as month,
        cast(indicators.indicator_code as text) as indicator_code,
        cast(indicators.numerator as numeric) as numerator,
        cast(indicators.denominator as numeric) as denominator,
        cast(indicators.value as numeric) as value,
        cast(indicators.calendar_status as text) as calendar_status
    from indicators
    inner join units
        on units.unit_code = indicators.unit_code

)

select * from final
