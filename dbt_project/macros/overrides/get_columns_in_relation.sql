{#-
    dbt-postgres reports an array column's type as information_schema's bare "ARRAY", which is not
    a type PostgreSQL can cast to: unit-test fixtures (and anything else that casts to a column's
    reported type) then fail with `cast(null as ARRAY)` — dbt-labs/dbt-adapters#939,
    dbt-labs/dbt-utils#857. The raw tables' `warnings` column is text[], so every unit test whose
    input carries it hit this. This override of the adapter's macro differs only in reporting
    arrays by their element type (`text[]`); the dispatch picks the root project's version first.
-#}
{% macro postgres__get_columns_in_relation(relation) -%}
  {% call statement('get_columns_in_relation', fetch_result=True) %}
      select
          column_name,
          case
              when data_type = 'ARRAY' then (
                  select format_type(array_type.typelem, null) || '[]'
                  from pg_catalog.pg_type as array_type
                  join pg_catalog.pg_namespace as type_schema
                      on type_schema.oid = array_type.typnamespace
                  where array_type.typname = udt_name
                      and type_schema.nspname = udt_schema
              )
              else data_type
          end as data_type,
          character_maximum_length,
          numeric_precision,
          numeric_scale

      from {{ relation.information_schema('columns') }}
      where table_name = '{{ relation.identifier }}'
        {% if relation.schema %}
        and table_schema = '{{ relation.schema }}'
        {% endif %}
      order by ordinal_position

  {% endcall %}
  {% set table = load_result('get_columns_in_relation').table %}
  {{ return(sql_convert_columns_in_relation(table)) }}
{% endmacro %}
