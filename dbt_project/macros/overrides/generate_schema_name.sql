{#-
    Custom schemas are used verbatim: staging, intermediate, marts, reference — not dbt's
    default "<target schema>_<custom schema>". The platform's grants and the analysts' queries
    name these schemas (README, "What runs where"), so they must not depend on the profile's target schema.
    A node without a custom schema falls back to the profile's schema.

    Write–audit–publish: the `marts` models are built into the schema named by the var
    `marts_schema`, else the environment variable CEI_MARTS_SCHEMA, else `marts`. The nightly
    pipeline sets CEI_MARTS_SCHEMA=marts__build for its dbt build (plugins/cei/pipeline.py); the
    Great Expectations marts gate then audits that schema and only a passing build is swapped in
    as `marts` (plugins/cei/warehouse/publish.py). An ad-hoc `dbt build` writes `marts`
    directly, ungated: for development, not for what analysts are told to use.
    Seeds (`reference`), staging and intermediate are not swapped: no mart reads them at query
    time (marts are tables), and analysts cannot read them.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim == 'marts' -%}
        {{ var('marts_schema', env_var('CEI_MARTS_SCHEMA', 'marts')) | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
