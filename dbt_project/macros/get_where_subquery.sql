{#-
    dbt's own get_where_subquery (a data test's `where` config narrows the model it reads),
    plus two placeholders a test's `where` may use, since that config cannot call macros:

      __recent_deliveries__   the versions delivered in the seven nights up to the run's as-of
      __rebuilt_rows__        of an incremental model with lineage columns (fct_*, int_*_latest):
                              the rows whose newest version the last build brought in — a version
                              loaded after, or delivered after, what the build before had seen
                              (meta.dbt_watermarks); every row after a full build, and of any
                              other model

    The staging models' tests use the first, the intermediate and marts models' the second
    (dbt_project.yml): every batch was already checked in full by its raw gate when it was
    loaded, and every other row of an incremental model by the build that wrote it, so
    re-testing all of history every night would only make the night's cost grow with history
    (docs/performance.md). Their keys are unique by index, not by a test of the rebuilt rows.
-#}
{% macro get_where_subquery(relation) -%}
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

{% macro rebuilt_rows(relation) -%}
    {%- set tested = graph.nodes.get(model.attached_node) if execute and model.attached_node else none -%}
    {%- if tested is none or tested.config.materialized != 'incremental' -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set rows = run_query(
        "select w.rebuilt_after_file_id, w.rebuilt_after_date from meta.dbt_watermarks w"
        ~ " where w.relation_oid = to_regclass('" ~ relation.include(database=false) ~ "')"
        ~ " and w.rebuilt_after_file_id is not null"
        ~ " and exists (select from pg_attribute a where a.attrelid = w.relation_oid and a.attname = 'delivery_date')").rows -%}
    {%- if rows | length != 1 -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- do return('(load_file_id > ' ~ rows[0][0] ~ " or delivery_date > cast('" ~ rows[0][1] ~ "' as date))") -%}
{%- endmacro %}
