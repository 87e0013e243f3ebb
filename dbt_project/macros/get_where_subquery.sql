{#-
    dbt's own get_where_subquery (a data test's `where` config narrows the model it reads),
    plus one placeholder a test's `where` may use, since that config cannot call macros:

      __recent_deliveries__   the versions delivered in the seven nights up to the run's as-of

    The staging models' tests use it (dbt_project.yml): every batch was already checked in full
    by its raw gate (expectations/raw_<feed>.json) when it was loaded, so re-testing all of
    history every night would only make the night's cost grow with history (docs/performance.md).
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__recent_deliveries__',
                                        'delivery_date between ' ~ as_of_date() ~ ' - 6 and ' ~ as_of_date()) -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
