{#-
    The latest-state models (int_*_latest) are incremental, so that a night costs what it
    delivered rather than all of history. Each keeps one row per business key — its newest
    version delivered by the as-of — and a build recomputes only the keys a version could change:

      touched = keys with a version loaded since the last build (load_file_id > through_file_id),
                or delivered after the earlier of the last build's as-of and this one's;
                every key when the region → unit mapping (int_region_units) or the model's
                SQL changed since the last build.

    An untouched key has all its versions delivered by both as-ofs and loaded before the last
    build: its newest version, version count and unit are unchanged. A touched key is deleted
    (pre-hook) and inserted again from its versions visible now — none after a rewind to an
    earlier as-of, and then it stays deleted. The watermark, `<model>__watermark` beside the
    model, is rewritten in the same transaction (post-hook). This holds because raw is
    append-only and the platform's run lock keeps ingestion out while dbt builds; a change to a
    macro the model calls (not to its own SQL) needs `dbt build --full-refresh`.

    In the model:
        {{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
                  pre_hook="{{ newest_versions_forget_touched(ref('stg_x'), ['key']) }}",
                  post_hook="{{ newest_versions_save_watermark(ref('stg_x')) }}") }}
        ... from {{ ref('stg_x') }} where delivery_date <= {{ as_of_date() }}
            and {{ newest_versions_touched(ref('stg_x'), ['key']) }}
-#}

{% macro newest_versions_watermark() -%}
    {#- none in a unit test, which has no `this` -#}
    {%- if this is none -%}{%- do return(none) -%}{%- endif -%}
    {%- do return(adapter.get_relation(this.database, this.schema, this.identifier ~ '__watermark')) -%}
{%- endmacro %}

{#- What else the stored rows depend on: the region → unit mapping and the model's own SQL. -#}
{% macro newest_versions_inputs_hash() -%}
    (select md5('{{ local_md5(model.raw_code) }}' || coalesce(string_agg(region_code || '=' || coalesce(unit_code, ''),
                ',' order by region_code), ''))
     from {{ ref('int_region_units') }})
{%- endmacro %}

{#- A condition on the versions of `staging`: true for every version of a touched key (always
    true on a full build). -#}
{% macro newest_versions_touched(staging, key_columns) -%}
    {%- set watermark = newest_versions_watermark() if is_incremental() else none -%}
    {%- if watermark is none -%}
        true
    {%- else -%}
        ({{ key_columns | join(', ') }}) in (
            select {{ key_columns | join(', ') }}
            from {{ staging }}
            where load_file_id > (select through_file_id from {{ watermark }})
               or delivery_date > least((select as_of_date from {{ watermark }}), {{ as_of_date() }})
               or (select inputs_hash from {{ watermark }}) is distinct from {{ newest_versions_inputs_hash() }}
        )
    {%- endif -%}
{%- endmacro %}

{% macro newest_versions_forget_touched(staging, key_columns) -%}
    {%- if is_incremental() -%}
        {#- without a watermark the model is rebuilt whole: nothing of it may stay -#}
        delete from {{ this }}
        {%- if newest_versions_watermark() is not none %} where {{ newest_versions_touched(staging, key_columns) }}{% endif %}
    {%- endif -%}
{%- endmacro %}

{% macro newest_versions_save_watermark(staging) -%}
    {%- set watermark = this.incorporate(path={'identifier': this.identifier ~ '__watermark'}) -%}
    create table if not exists {{ watermark }} (
        through_file_id bigint not null, as_of_date date not null, inputs_hash text);
    delete from {{ watermark }};
    insert into {{ watermark }}
    select coalesce((select max(load_file_id) from {{ staging }}), 0), {{ as_of_date() }},
           {{ newest_versions_inputs_hash() }};
{%- endmacro %}
