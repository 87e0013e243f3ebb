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
    append-only and the platform's run lock keeps ingestion out while dbt builds. After a change
    to a macro the model calls (not to its own SQL), drop its watermark table: the next build
    recomputes every key.

    In the model:
        {{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
                  pre_hook="{{ newest_versions_forget_touched(ref('stg_x'), ['key']) }}",
                  post_hook="{{ newest_versions_save_watermark(ref('stg_x'), ['key']) }}") }}
        ... from {{ ref('stg_x') }} where delivery_date <= {{ as_of_date() }}
            and {{ newest_versions_touched(ref('stg_x'), ['key']) }}
-#}

{% macro newest_versions_watermark() -%}
    {#- none in a unit test, which has no `this` -#}
    {%- if this is none -%}{%- do return(none) -%}{%- endif -%}
    {%- do return(adapter.get_relation(this.database, this.schema, this.identifier ~ '__watermark')) -%}
{%- endmacro %}

{#- What else the stored rows depend on: the model's own SQL, the region → unit mapping, the
    content of the small tables listed in the model's meta `incremental_inputs` (say, the
    deadlines table), and the inputs of the incremental models it reads (their watermarks' hashes:
    when one of those recomputes every key, so does this one). -#}
{% macro newest_versions_inputs_hash() -%}
    (select md5('{{ local_md5(model.raw_code) }}' || coalesce(string_agg(region_code || '=' || coalesce(unit_code, ''),
                ',' order by region_code), '')
        {%- for name in (config.get('meta') or {}).get('incremental_inputs', []) %}
            || (select coalesce(md5(string_agg(cast(t as text), ',' order by cast(t as text))), '')
                from {{ ref(name) }} as t)
        {%- endfor %}
        {%- for watermark in newest_versions_upstream_watermarks() %}
            || (select coalesce(max(inputs_hash), '') from {{ watermark }})
        {%- endfor %})
     from {{ ref('int_region_units') }})
{%- endmacro %}

{#- The watermark tables of the models this one reads (none in a unit test or while parsing). -#}
{% macro newest_versions_upstream_watermarks() -%}
    {%- set found = [] -%}
    {%- if execute and this is not none -%}
        {%- for node_id in model.depends_on.nodes if node_id.startswith('model.') -%}
            {%- set node = graph.nodes[node_id] -%}
            {%- set watermark = adapter.get_relation(node.database, node.schema, node.alias ~ '__watermark') -%}
            {%- if watermark is not none -%}{%- do found.append(watermark) -%}{%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do return(found) -%}
{%- endmacro %}

{#- The last build's watermark, read when the model compiles so that the conditions below carry
    literals the planner can match to raw's indexes; none when every key must be recomputed (a
    full build, no watermark yet, or the inputs changed). -#}
{% macro newest_versions_since() -%}
    {%- if not execute or not is_incremental() -%}{%- do return(none) -%}{%- endif -%}
    {%- set watermark = newest_versions_watermark() -%}
    {%- if watermark is none -%}{%- do return(none) -%}{%- endif -%}
    {%- set rows = run_query('select through_file_id, as_of_date, inputs_hash = ' ~ newest_versions_inputs_hash()
                             ~ ' from ' ~ watermark).rows -%}
    {%- if rows | length != 1 or not rows[0][2] -%}{%- do return(none) -%}{%- endif -%}
    {%- do return({'through_file_id': rows[0][0], 'as_of_date': rows[0][1]}) -%}
{%- endmacro %}

{#- A condition on the versions of `staging`, or on the rows of a model keyed like them: true for
    every row of a touched key (always true on a full build). `columns`: the key's columns where
    the condition is applied, when they are named otherwise than in staging; `also`: a query for
    more keys to include (in those columns' order). -#}
{% macro newest_versions_touched(staging, key_columns, columns=none, also=none) -%}
    {%- set since = newest_versions_since() -%}
    {%- if since is none -%}
        true
    {%- else -%}
        {#- `= any(array(…))`, not `in (…)`: the planner then looks the keys up by index instead of
            hashing every version of history -#}
        ({{ (columns or key_columns) | join(', ') }}) = any(array(
            select ({{ key_columns | join(', ') }})
            from {{ staging }}
            where load_file_id > {{ since.through_file_id }}
               or delivery_date > least(cast('{{ since.as_of_date }}' as date), {{ as_of_date() }})
            {%- if also %}
            union
            {{ also }}
            {%- endif %}
        ))
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook: delete the rows of the touched keys (`columns`, `where`: as in
    newest_versions_touched, and a condition on which rows). -#}
{% macro newest_versions_forget_touched(staging, key_columns, columns=none, where=none) -%}
    {%- if is_incremental() -%}
        {#- with nothing to start from the model is rebuilt whole: nothing of it may stay -#}
        delete from {{ this }}
        {%- if newest_versions_since() is not none %}
        where {% if where %}{{ where }} and {% endif %}{{ newest_versions_touched(staging, key_columns, columns) }}
        {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#- `staging`: one staging model or a list of them (the watermark is the newest file of any). -#}
{% macro newest_versions_save_watermark(staging, key_columns) -%}
    {%- set stagings = staging if staging is sequence and staging is not string else [staging] -%}
    {%- set watermark = this.incorporate(path={'identifier': this.identifier ~ '__watermark'}) -%}
    {%- if not is_incremental() %}
    {#- a new table (first or full build): the pre-hook's delete finds the touched keys by index -#}
    create index on {{ this }} ({{ key_columns | join(', ') }});
    {%- endif %}
    create table if not exists {{ watermark }} (
        through_file_id bigint not null, as_of_date date not null, inputs_hash text);
    delete from {{ watermark }};
    insert into {{ watermark }}
    select greatest(0
        {%- for s in stagings %}, (select max(load_file_id) from {{ s }}){% endfor %}),
           {{ as_of_date() }}, {{ newest_versions_inputs_hash() }};
{%- endmacro %}
