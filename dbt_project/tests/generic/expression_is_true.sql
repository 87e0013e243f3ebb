{#-
    Every row satisfies the SQL boolean `expression` (e.g. "numerator <= denominator").
    A row where it is false or null fails. Narrow the rows with `config: where:`.
-#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
