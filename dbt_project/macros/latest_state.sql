{#-
    The latest state of each business key of a feed as of the run, with its assessment unit: the
    body of every int_*_latest model. Versions delivered after the as-of date are not seen (a
    rerun for an earlier night reproduces its figures); the newest wins by newest_wins_order.
    Only the keys the build recomputes (macros/incremental/newest_versions.sql).

    `columns`: the staging columns kept, in order; `unit_code` comes from the region → unit
    mapping. Every model then has the key's field warnings, its version count and the lineage of
    the winning version (load_file_id, delivery_date, source_row).
-#}
{% macro latest_state(staging, key_columns, newest_wins_column, columns) -%}
{%- set keys = key_columns | join(', ') -%}
with

versions as (

    select * from {{ ref(staging) }}
    where delivery_date <= {{ as_of_date() }}
        and {{ newest_versions_touched(ref(staging), key_columns) }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by {{ keys }}
            order by {{ newest_wins_order(newest_wins_column) }}
        ) as version_rank,
        count(*) over (partition by {{ keys }}) as version_count
    from versions

),

latest as (

    select * from ranked
    where version_rank = 1

),

region_units as (

    select * from {{ ref('int_region_units') }}

),

final as (

    select
        {%- for column in columns + ['field_warnings', 'version_count', 'load_file_id', 'delivery_date', 'source_row'] %}
        {{ 'region_units' if column == 'unit_code' else 'latest' }}.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from latest
    left join region_units
        on region_units.region_code = latest.region_code

)

select * from final
{%- endmacro %}
