{#-
    Custom schemas are used verbatim: staging, intermediate, marts, reference — not dbt's
    default "<target schema>_<custom schema>". The platform's grants and the analysts' queries
    name these schemas (operations.md), so they must not depend on the profile's target schema.
    A node without a custom schema falls back to the profile's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
