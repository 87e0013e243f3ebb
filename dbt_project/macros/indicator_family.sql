{#-
    The closing select of an indicator family model (models/intermediate/indicators/): every
    indicator of `family` in ref_indicators × every (unit, month) of int_unit_months, with the
    figures of the CTE `figures` (unit_code, month, indicator_code, numerator, denominator) left
    joined on. A missing figure is 0, so every unit has every month:
      measure = rate: numerator and denominator (0 when none), value = numerator / denominator,
                      null when the denominator is 0 (indicators.md);
      count, sum, distinct_count: value = numerator = the figure, denominator null.
-#}
{% macro indicator_family_rows(family, figures='figures') -%}
    select
        unit_months.unit_code,
        unit_months.month,
        indicators.indicator_code,
        cast(coalesce(figures.numerator, 0) as numeric) as numerator,
        case
            when indicators.measure = 'rate' then cast(coalesce(figures.denominator, 0) as numeric)
        end as denominator,
        case
            when indicators.measure = 'rate'
                then {{ safe_ratio('coalesce(figures.numerator, 0)', 'coalesce(figures.denominator, 0)') }}
            else cast(coalesce(figures.numerator, 0) as numeric)
        end as value
    from {{ ref('int_unit_months') }} as unit_months
    cross join {{ ref('ref_indicators') }} as indicators
    left join (select * from {{ figures }} where {{ indicator_months_rebuilt() }}) as figures
        on figures.unit_code = unit_months.unit_code
        and figures.month = unit_months.month
        and figures.indicator_code = indicators.indicator_code
    where indicators.family = '{{ family }}'
        and {{ indicator_months_rebuilt('unit_months.month') }}
{%- endmacro %}

{#-
    The family models are incremental by month: a build deletes and recomputes the months from
    the earliest one a change can reach, and keeps the months before it —

      from = the month of the earlier of the last build's as-of and this one's (clocks whose
             deadline lies between the two turn from pending to missed, or back), or earlier:
             the earliest month of any moment (registered, accepted, closed, filed, reported,
             sampled) of any version of a key touched since the last build
             (macros/newest_versions.sql), its old and its new state alike; every month when
             the inputs changed (no watermark, or its hash differs).

    Every figure of a family counts an item in a month of one of those moments or of a deadline,
    which never precedes its clock's start. The staging models are read through the graph, not
    ref(): the families depend on them through the latest states already, and a ref would make
    every family's unit test declare them.
-#}
{#- `inputs`: the small tables it reads, hashed into its watermark (the indicator list) -#}
{% macro indicator_family_config(inputs=['ref_indicators']) -%}
    {%- do return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'meta': {'incremental_inputs': inputs},
        'pre_hook': "{% if is_incremental() %}delete from {{ this }} where {{ indicator_months_rebuilt() }}{% endif %}",
        'post_hook': "{{ newest_versions_save_watermark(indicator_family_sources() | map(attribute='relation') | list,"
                     " ['indicator_code', 'unit_code', 'month'], lineage=false) }}",
    }) -%}
{%- endmacro %}

{#- The staging models a family's figures come from, their keys and the moments of a version. -#}
{% macro indicator_family_sources() -%}
    {%- set sources = [] -%}
    {%- if not execute -%}{%- do return(sources) -%}{%- endif -%}  {#- the graph is empty while parsing -#}
    {%- for name, keys, moments in [
        ('stg_hotline__work_orders', ['work_order_id'], 'least(registered_at_local, accepted_at_local, closed_at_local)'),
        ('stg_odr__disputes', ['dispute_id'], 'least(filed_at_local, closed_at_local)'),
        ('stg_returns__reports', ['enterprise_uscc', 'report_month'], 'cast(report_month as timestamp)'),
        ('stg_inspection__samples', ['sample_id'], 'cast(sampled_on as timestamp)'),
    ] -%}
        {%- set node = graph.nodes['model.cei.' ~ name] -%}
        {%- do sources.append({'relation': adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.alias),
                               'keys': keys, 'moments': moments}) -%}
    {%- endfor -%}
    {%- do return(sources) -%}
{%- endmacro %}

{#- A condition on a month column (or a moment: from the first moment of the month on): true for
    the months this build recomputes (every month on a full build). Read when the model
    compiles, so that it is a literal. -#}
{% macro indicator_months_rebuilt(column='month') -%}
    {%- set since = newest_versions_since() -%}
    {%- if since is none -%}
        true
    {%- else -%}
        {%- set query -%}
            select cast(date_trunc('month', least(
                cast(least(cast('{{ since.as_of_date }}' as date), {{ as_of_date() }}) as timestamp)
                {%- for source in indicator_family_sources() %},
                (select min({{ source.moments }}) from {{ source.relation }}
                 where {{ newest_versions_touched(source.relation, source['keys']) }})
                {%- endfor %})) as date)
        {%- endset -%}
        {%- set memo = graph.setdefault('indicator_months_rebuilt', {}) -%}  {#- as newest_versions_since -#}
        {%- if this | string not in memo -%}
            {%- do memo.update({this | string: run_query(query).rows[0][0]}) -%}
        {%- endif -%}
        {{ column }} >= cast('{{ memo[this | string] }}' as date)
    {%- endif -%}
{%- endmacro %}
