{#- The keys of the open SLA clocks (`items`: a condition on clock_code) whose judgement the
    as-of can turn between the model's last build and this one — deadline between the two as-ofs
    (from the first moment of the earlier's day to the last of the later's), or beyond the
    calendar (pending until the calendar ends). Every other open clock is pending at both as-ofs
    or missed at both. Empty on a full build. `clocks`: where the clocks are read — int_sla_clocks
    itself by default, before this build rewrites them; a model downstream (fct_work_orders,
    fct_odr_disputes, whose flags turn with their clocks) reads ref('int_sla_clocks') as this
    build wrote it: a turned clock is still open there, so the same keys are found. -#}
{% macro sla_clocks_turning(items, clocks=none) -%}
    {%- set since = newest_versions_since() -%}
    {%- if since is not none -%}
    {%- set last_as_of = "cast('" ~ since.as_of_date ~ "' as date)" -%}
    select item_id from {{ clocks or this }}
    where {{ items }} and is_open
        and (deadline_at_local is null
             or (deadline_at_local >= cast(least({{ last_as_of }}, {{ as_of_date() }}) as timestamp)
                 and deadline_at_local < cast(greatest({{ last_as_of }}, {{ as_of_date() }}) + 1 as timestamp)))
    {%- endif -%}
{%- endmacro %}
