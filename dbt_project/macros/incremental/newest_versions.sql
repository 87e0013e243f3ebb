{#-
    The models that hold one row (or a few) per business key — the latest states (int_*_latest),
    the SLA clocks (int_sla_clocks) and the fact tables (fct_*) — are incremental, so that a night
    costs what it delivered rather than all of history. dbt's `delete+insert` strategy, keyed by
    the business key, writes them; what dbt does not know is which keys a night touched:

      touched = keys with a version loaded since the model's last build (load_file_id >
                through_file_id) or delivered after the last build's as-of date.

    An untouched key has all its versions delivered by the last as-of and loaded before the last
    build: its newest version, version count and unit are unchanged. A touched key always has a
    version visible now, so the batch holds it and delete+insert replaces its row. Every key is
    recomputed — the table emptied first (newest_versions_forget_all), as a key may be gone —
    when the model's inputs changed since (its SQL, the region → unit mapping, the files the data
    steward withdrew, the small tables its meta `incremental_inputs` lists, or the inputs of an
    incremental model it reads), and when the as-of went back (a rerun of an earlier night).

    The watermark, a row of meta.dbt_watermarks keyed by the table's OID (so a marts table keeps
    it when publishing renames its schema), is rewritten in the same transaction (post-hook).
    This holds because raw is append-only and the platform's run lock keeps ingestion out while
    dbt builds. After a change to a macro a model calls (not to its own SQL: latest_state, say),
    build it and the models downstream with --full-refresh.

    In the model:
        {{ config(**newest_versions_config('stg_x', ['key'])) }}
        ... from {{ ref('stg_x') }} where delivery_date <= {{ as_of_date() }}
            and {{ newest_versions_touched(ref('stg_x'), ['key']) }}
    A model downstream applies the same condition to the model it reads (keyed alike);
    int_sla_clocks, keyed by two stagings, spells its config out.
-#}

{% macro newest_versions_table() -%}
    meta.dbt_watermarks
{%- endmacro %}

{#- What else the stored rows depend on: the model's own SQL, the region → unit mapping, the
    files withdrawn (cei.steward: a withdrawal is rare, and recomputing every key is the simple
    way to drop its rows' versions everywhere), the content of the small tables listed in the
    model's meta `incremental_inputs` (say, the deadlines table), and the inputs of the
    incremental models it reads (their watermarks' hashes: when one of those recomputes every
    key, so does this one). -#}
{% macro newest_versions_inputs_hash() -%}
    (select md5('{{ local_md5(model.raw_code) }}' || coalesce(string_agg(region_code || '=' || coalesce(unit_code, ''),
                ',' order by region_code), '')
        || (select coalesce(string_agg(cast(file_id as text), ',' order by file_id), '')
            from meta.load_files where status = 'withdrawn')
        {%- for name in (config.get('meta') or {}).get('incremental_inputs', []) %}
            || (select coalesce(md5(string_agg(cast(t as text), ',' order by cast(t as text))), '')
                from {{ ref(name) }} as t)
        {%- endfor %}
        {%- for upstream in newest_versions_upstream() %}
            || (select coalesce(max(inputs_hash), '') from {{ newest_versions_table() }}
                where relation_oid = to_regclass('{{ upstream }}'))
        {%- endfor %})
     from {{ ref('int_region_units') }})
{%- endmacro %}

{#- The incremental models this one reads (none in a unit test or while parsing). -#}
{% macro newest_versions_upstream() -%}
    {%- set found = [] -%}
    {%- if execute and this is not none -%}
        {%- for node_id in model.depends_on.nodes if node_id.startswith('model.') -%}
            {%- set node = graph.nodes[node_id] -%}
            {%- if node.config.materialized == 'incremental' -%}
                {%- do found.append(adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.alias)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do return(found) -%}
{%- endmacro %}

{#- The last build's watermark, read when the model compiles so that the conditions below carry
    literals the planner can match to raw's indexes; none when every key must be recomputed (a
    full build, no watermark yet, or the inputs changed). -#}
{% macro newest_versions_since() -%}
    {%- if not execute or this is none or not is_incremental() -%}{%- do return(none) -%}{%- endif -%}
    {#- remembered for the rest of the model's build (its SQL and hooks ask several times; the
        watermark changes only in its post-hook's transaction, after the last question) -#}
    {%- set memo = graph.setdefault('newest_versions_since', {}) -%}
    {%- set key = this.include(database=false) | string -%}
    {%- if key not in memo -%}
        {%- set rows = run_query('select through_file_id, as_of_date, inputs_hash = ' ~ newest_versions_inputs_hash()
                                 ~ ' from ' ~ newest_versions_table()
                                 ~ " where relation_oid = to_regclass('" ~ key ~ "')").rows -%}
        {#- a rerun of an earlier night (the as-of went back) recomputes every key too -#}
        {%- do memo.update({key: none if rows | length != 1 or not rows[0][2] or as_of_text()[:10] < rows[0][1] | string
                                 else {'through_file_id': rows[0][0], 'as_of_date': rows[0][1]}}) -%}
    {%- endif -%}
    {%- do return(memo[key]) -%}
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
               or delivery_date > cast('{{ since.as_of_date }}' as date)
            {%- if also %}
            union
            {{ also }}
            {%- endif %}
        ))
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook of a model dbt's delete+insert writes: empty it when every key is recomputed
    (nothing of it may stay: a key may be gone). -#}
{% macro newest_versions_forget_all() -%}
    {%- if is_incremental() and newest_versions_since() is none -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook of a model whose rows of a touched key may be fewer than before (int_sla_clocks:
    a complaint reclassified loses its clocks), which delete+insert alone would leave behind:
    delete the rows of the touched keys (`columns`: as in newest_versions_touched;
    `where`: a condition on which rows). -#}
{% macro newest_versions_forget_touched(staging, key_columns, columns=none, where=none) -%}
    {%- if is_incremental() -%}
        {#- with nothing to start from the model is rebuilt whole: nothing of it may stay -#}
        delete from {{ this }}
        {%- if newest_versions_since() is not none %}
        where {% if where %}{{ where }} and {% endif %}{{ newest_versions_touched(staging, key_columns, columns) }}
        {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#- The post-hook. `staging`: one staging model or a list of them (the watermark is the newest
    file of any). A table without a unique index (new, or built before these indexes) gets its
    indexes: its key, unique (a duplicate fails the build), for delete+insert's delete; and, when
    `lineage`, load_file_id and delivery_date for the rows a build rewrote (get_where_subquery's
    __rebuilt_rows__). `indexes`: columns that readers look up by (say, the month
    columns the indicator families filter on: macros/incremental/indicator_months.sql), each indexed when
    it is not yet. -#}
{% macro newest_versions_save_watermark(staging, key_columns, lineage=true, indexes=[]) -%}
    {%- set stagings = staging if staging is sequence and staging is not string else [staging] -%}
    {%- set since = newest_versions_since() -%}
    {%- set relation = this.include(database=false) -%}
    {%- if execute and not run_query("select count(*) from pg_index where indisunique and indrelid = to_regclass('"
                                     ~ relation ~ "')").rows[0][0] %}
    create unique index on {{ this }} ({{ key_columns | join(', ') }});
    {%- if lineage %}
    create index on {{ this }} (load_file_id);
    create index on {{ this }} (delivery_date);
    {%- endif %}
    {%- endif %}
    {%- for column in indexes %}
    create index if not exists {{ this.identifier }}__{{ column }}_ix on {{ this }} ({{ column }});
    {%- endfor %}
    {#- and the watermarks of tables since dropped (full refreshes, builds replaced) -#}
    delete from {{ newest_versions_table() }}
    where relation_oid = to_regclass('{{ relation }}')
       or not exists (select from pg_class where pg_class.oid = relation_oid);
    insert into {{ newest_versions_table() }} (relation_oid, relation_name, through_file_id, as_of_date, inputs_hash,
                                               rebuilt_after_file_id, rebuilt_after_date)
    select to_regclass('{{ relation }}'), '{{ relation }}', {{ newest_versions_through(stagings) }},
           {{ as_of_date() }}, {{ newest_versions_inputs_hash() }},
           {% if since is none -%}
           null, null
           {%- else -%}
           {{ since.through_file_id }}, cast('{{ since.as_of_date }}' as date)
           {%- endif %};
    {#- before meta.dbt_watermarks, each model kept its watermark in a table beside it -#}
    drop table if exists {{ this.incorporate(path={'identifier': this.identifier ~ '__watermark'}) }};
{%- endmacro %}

{#- The newest file of `stagings` (a list) this build has seen: the watermark's through_file_id.
    Only the files after the last build's are read: through a staging view PostgreSQL cannot
    read a max off raw's index, and counted every row (1.8 s a model at 10 M rows). -#}
{% macro newest_versions_through(stagings) -%}
    {%- set since = newest_versions_since() -%}
    {%- set after = since.through_file_id if since is not none else 0 -%}
    greatest({{ after }}
    {%- for s in stagings %}, (select max(load_file_id) from {{ s }} where load_file_id > {{ after }}){% endfor %})
{%- endmacro %}

{#- The config of a model incremental by the keys of a staging model (its name), with
    `indexes` as in newest_versions_save_watermark, `post_hook`: more statements after the
    watermark's (say, a partial index), `on_schema_change`: dbt's (`append_new_columns` lets a
    column added to the model reach an existing table: the model's SQL changed, so that build
    recomputes every key and fills it; a removed or retyped column still needs --full-refresh):
        {{ config(**newest_versions_config('stg_x', ['key'])) }} -#}
{% macro newest_versions_config(staging, key_columns, indexes=[], post_hook=[], on_schema_change='fail') -%}
    {%- set arguments = "ref('" ~ staging ~ "'), " ~ (key_columns | string) -%}
    {%- do return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': key_columns,
        'on_schema_change': on_schema_change,
        'pre_hook': '{{ newest_versions_forget_all() }}',
        'post_hook': ['{{ newest_versions_save_watermark(' ~ arguments ~ ', indexes=' ~ (indexes | string) ~ ') }}'] + post_hook,
    }) -%}
{%- endmacro %}

{#- A condition on the rows of `relation` that its last build wrote: the `__rebuilt_rows__` of
    a data test's `where` (macros/overrides/get_where_subquery.sql). -#}
{% macro rebuilt_rows(relation) -%}
    {%- set tested = graph.nodes.get(model.attached_node) if execute and model.attached_node else none -%}
    {%- if tested is none or tested.config.materialized != 'incremental' -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set rows = run_query(
        "select w.rebuilt_after_file_id, w.rebuilt_after_date, w.through_file_id,"
        ~ " (select array_agg(a.attname::text) from pg_attribute a where a.attrelid = w.relation_oid"
        ~ " and a.attname in ('delivery_date', 'built_through_file_id') and not a.attisdropped)"
        ~ " from meta.dbt_watermarks w"
        ~ " where w.relation_oid = to_regclass('" ~ relation.include(database=false) ~ "')"
        ~ " and w.rebuilt_after_file_id is not null").rows -%}
    {%- set lineage = (rows[0][3] or []) if rows | length == 1 else [] -%}
    {%- if 'delivery_date' in lineage -%}
        {%- do return('(load_file_id > ' ~ rows[0][0] ~ " or delivery_date > cast('" ~ rows[0][1] ~ "' as date))") -%}
    {%- elif 'built_through_file_id' in lineage -%}
        {#- a model without version lineage marks the rows each build wrote (int_sla_clocks) -#}
        {%- do return('built_through_file_id = ' ~ rows[0][2]) -%}
    {%- endif -%}
    {%- do return('true') -%}
{%- endmacro %}
