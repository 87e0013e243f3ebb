{#-
    The indicator families (models/intermediate/indicators/int_indicators_monthly__*) are
    incremental by month: a build recomputes every month from the earliest one a change since
    the family's last build can reach, and keeps the months before it as they are. Without this
    a night's cost grew with history: each family scanned every clock and work order.

    The earliest month a change can reach is the earliest local month of
      - any business date (registered, accepted, closed; filed, closed; report month; sampled
        on) of any version — old or new — of a business key with a version loaded or delivered
        since the last build (the touched keys of macros/incremental/newest_versions.sql): a record counts
        in the months of its dates, and every month it counts in (a deadline's, a stop's) is at
        or after its earliest date;
      - the month an open SLA clock counts in once the as-of turns its judgement (its deadline
        lies between the last build's as-of and this one, or beyond the calendar): an accepted
        complaint's closing clock, overdue, in its deadline month; every other clock in its start
        month (int_indicators_monthly__efficiency, __odr). Taking every clock's start month
        reached back to the acceptances of 45 working days before: three whole months a night;
      - the earlier of the two as-ofs: the grid ends at the as-of month (a rewind drops months).
    Every month when the model is built whole (no watermark, or its inputs changed: its SQL, the
    region mapping, ref_indicators / ref_units, an upstream incremental model's inputs).

    In a family (and in int_indicator_distinct_members, which two families read):
        {{ config(**indicator_months_config()) }}
        ... from {{ ref('int_work_orders_latest') }} where {{ indicator_months_since('closed_at_local') }}
    The filters on the sources' month or date columns (indexed) keep the scans to the recomputed
    months; indicator_family_rows keeps the grid to them, and dbt's delete+insert keyed by
    `month` replaces them in the table.
-#}

{#- The first recomputed month: a date literal, or none when every month is. Read once per
    model build, as newest_versions_since is. -#}
{% macro indicator_months_from() -%}
    {#- a unit test builds the model whole, from its given inputs only -#}
    {%- if model.resource_type == 'unit_test' -%}{%- do return(none) -%}{%- endif -%}
    {#- referenced before anything else, so that dbt, parsing the model, learns it reads them -#}
    {%- set sources = [
            (ref('stg_hotline__work_orders'), ['work_order_id'], ['registered_at_local', 'accepted_at_local', 'closed_at_local']),
            (ref('stg_odr__disputes'), ['dispute_id'], ['filed_at_local', 'closed_at_local']),
            (ref('stg_returns__reports'), ['enterprise_uscc', 'report_month'], ['report_month']),
            (ref('stg_inspection__samples'), ['sample_id'], ['sampled_on'])] -%}
    {%- set clocks = ref('int_sla_clocks') -%}
    {%- do ref('ref_indicators') -%}{%- do ref('ref_units') -%}
    {%- set since = newest_versions_since() -%}
    {%- if since is none -%}{%- do return(none) -%}{%- endif -%}
    {%- set memo = graph.setdefault('indicator_months_from', {}) -%}
    {%- set key = this.include(database=false) | string -%}
    {%- if key not in memo -%}
        {%- set earlier = "least(cast('" ~ since.as_of_date ~ "' as date), " ~ as_of_date() ~ ")" -%}
        {%- set later = "greatest(cast('" ~ since.as_of_date ~ "' as date), " ~ as_of_date() ~ ")" -%}
        {%- set changed = 'load_file_id > ' ~ since.through_file_id ~ ' or delivery_date > ' ~ earlier -%}
        {%- set earliest = [] -%}
        {%- for staging, key_columns, dates in sources -%}
            {%- set keys = key_columns | join(', ') -%}
            {%- do earliest.append(
                'select cast(min(least(' ~ dates | join(', ') ~ ')) as timestamp) from ' ~ staging
                ~ ' where (' ~ keys ~ ') = any(array(select (' ~ keys ~ ') from ' ~ staging ~ ' where ' ~ changed ~ '))') -%}
        {%- endfor -%}
        {%- do earliest.append(
            'select min(case when clock_code = \'complaint_close\' then coalesce(deadline_at_local, started_at_local)'
            ~ ' else started_at_local end) from ' ~ clocks ~ ' where is_open and (deadline_at_local is null'
            ~ ' or (deadline_at_local >= cast(' ~ earlier ~ ' as timestamp) and deadline_at_local < cast(' ~ later ~ ' + 1 as timestamp)))') -%}
        {%- do earliest.append('select cast(' ~ earlier ~ ' as timestamp)') -%}
        {%- set query -%}
            select cast(date_trunc('month', min(moment)) as date) from (
            {%- for part in earliest %}
                {{ 'union all ' if not loop.first }}({{ part }})
            {%- endfor %}
            ) as candidates (moment)
        {%- endset -%}
        {%- do memo.update({key: run_query(query).rows[0][0]}) -%}
    {%- endif -%}
    {%- do return(memo[key]) -%}
{%- endmacro %}

{#- A condition on a month or date column: true in the recomputed months (always on a full
    build). Written on the column itself so that its index serves it. -#}
{% macro indicator_months_since(column) -%}
    {%- set from = indicator_months_from() -%}
    {%- if from is none -%}
        true
    {%- else -%}
        {{ column }} >= cast('{{ from }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- A pre-hook: when the build recomputes some months only, read them by bitmap scans
    (macros/planner_settings.sql). A full build reads whole tables. -#}
{% macro indicator_months_scans() -%}
    {%- if indicator_months_from() is not none -%}
        {{ without_sequential_scans() }}
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook of int_indicator_distinct_members, whose recomputed months may hold fewer rows
    than before (a member gone): delete them (everything on a full build). -#}
{% macro indicator_months_forget() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ indicator_months_since('month') }}
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook of a family: empty it when every month is recomputed (a rewound as-of ends the
    grid earlier). Otherwise dbt's delete+insert keyed by `month` replaces the recomputed months:
    the family's grid (indicator_family_rows) holds every one of them. -#}
{% macro indicator_months_forget_all() -%}
    {%- if is_incremental() and indicator_months_from() is none -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- A family's config; `key_columns`: the model's key, unique by index. With `whole_months`
    false (int_indicator_distinct_members) the recomputed months are deleted by a pre-hook and the
    batch appended, since a month of the batch may have no row. -#}
{% macro indicator_months_config(key_columns=['unit_code', 'month', 'indicator_code'], whole_months=true) -%}
    {%- set stagings = "[ref('stg_hotline__work_orders'), ref('stg_odr__disputes'), ref('stg_returns__reports'), ref('stg_inspection__samples')]" -%}
    {%- set settings = {'incremental_strategy': 'delete+insert', 'unique_key': 'month'} if whole_months
                       else {'incremental_strategy': 'append'} -%}
    {%- do settings.update({
        'materialized': 'incremental',
        'on_schema_change': 'append_new_columns',
        'meta': {'incremental_inputs': ['ref_indicators', 'ref_units']},
        'pre_hook': [without_plain_index_scans(), '{{ indicator_months_scans() }}',
                     '{{ indicator_months_forget_all() }}' if whole_months else '{{ indicator_months_forget() }}'],
        'post_hook': "{{ newest_versions_save_watermark(" ~ stagings ~ ", " ~ (key_columns | string) ~ ", lineage=false) }}",
    }) -%}
    {%- do return(settings) -%}
{%- endmacro %}
