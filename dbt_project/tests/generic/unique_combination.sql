{#-
    No two rows share the same values of `columns` (a composite business key, e.g.
    enterprise_uscc + report_month). Fails with each duplicated combination and its count.
-#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as duplicate_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
