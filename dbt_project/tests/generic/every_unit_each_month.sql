{#-
    A long monthly table is complete: for every (month, indicator_code) present, every assessment
    unit of dim_unit has its row. Fails with each missing (unit_code, month, indicator_code).
-#}
{% test every_unit_each_month(model) %}

with

units as (

    select unit_code from {{ ref('dim_unit') }}

),

present as (

    select distinct month, indicator_code from {{ model }}

),

expected as (

    select
        units.unit_code,
        present.month,
        present.indicator_code
    from units
    cross join present

)

select expected.*
from expected
left join {{ model }} as actual
    on actual.unit_code = expected.unit_code
    and actual.month = expected.month
    and actual.indicator_code = expected.indicator_code
where actual.unit_code is null

{% endtest %}
