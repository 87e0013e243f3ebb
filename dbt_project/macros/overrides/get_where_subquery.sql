{#-
    dbt's own get_where_subquery (a data test's `where` config narrows the model it reads),
    plus two placeholders a test's `where` may use, since that config cannot call macros:

      __recent_deliveries__   the versions delivered in the seven nights up to the run's as-of
      __rebuilt_rows__        of an incremental model with lineage columns (fct_*, int_*_latest):
                              the rows whose newest version the last build brought in — a version
                              loaded after, or delivered after, what the build before had seen
                              (meta.dbt_watermarks); of one with build lineage (int_sla_clocks:
                              built_through_file_id) the rows the last build wrote; every row
                              after a full build, and of any other model

    The staging models' tests use the first, the intermediate and marts models' the second
    (dbt_project.yml): every batch was already checked in full by its raw gate when it was
    loaded, and every other row of an incremental model by the build that wrote it, so
    re-testing all of history every night would only make the night's cost grow with history
    (docs/performance.md). Their keys are unique by index, not by a test of the rebuilt rows.
-#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') or 'true' -%}
    {%- set where = where | replace('__recent_deliveries__',
                                    'delivery_date between ' ~ as_of_date() ~ ' - 6 and ' ~ as_of_date()) -%}
    {%- if '__rebuilt_rows__' in where -%}
        {%- set where = where | replace('__rebuilt_rows__', rebuilt_rows(relation)) -%}
    {%- endif -%}
    {#- no subquery when nothing narrows the model: some tests alias it (`{{ model }} as actual`) -#}
    {%- if where == 'true' -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
{%- endmacro %}
