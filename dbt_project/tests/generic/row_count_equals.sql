{#-
    The model has exactly `expected` rows (e.g. dim_unit: the 10 assessment units).
    Fails with one row showing the actual and expected counts.
-#}
{% test row_count_equals(model, expected) %}

with

counted as (

    select count(*) as actual_rows from {{ model }}

)

select
    actual_rows,
    {{ expected }} as expected_rows
from counted
where actual_rows <> {{ expected }}

{% endtest %}
