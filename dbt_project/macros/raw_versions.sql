{#-
    What every staging model of a feed starts from: the raw table's rows in force (a file the
    data steward withdrew counts nowhere: cei.steward), and the lineage each version keeps — the
    file, the delivery night and the row it came from, its row hash and its field warnings.
-#}
{% macro raw_versions_in_force(table) -%}
    select * from {{ source('raw', table) }}
    where not withdrawn
{%- endmacro %}

{% macro raw_lineage_columns() -%}
    load_file_id,
        delivery_date,
        source_row,
        row_hash,
        warnings as field_warnings,
{%- endmacro %}
