{#- int_sla_clocks, incremental: the keys of its open clocks (`items`: a condition on clock_code)
    whose judgement the as-of can turn between the last build and this one — deadline between the
    two as-ofs (from the first moment of the earlier's day to the last of the later's), or
    beyond the calendar (pending until the calendar ends). Every other open clock is pending at
    both as-ofs or missed at both. Empty on a full build. -#}
{% macro sla_clocks_turning(items) -%}
    {%- set since = newest_versions_since() -%}
    {%- if since is not none -%}
    {%- set last_as_of = "cast('" ~ since.as_of_date ~ "' as date)" -%}
    select item_id from {{ this }}
    where {{ items }} and is_open
        and (deadline_at_local is null
             or (deadline_at_local >= cast(least({{ last_as_of }}, {{ as_of_date() }}) as timestamp)
                 and deadline_at_local < cast(greatest({{ last_as_of }}, {{ as_of_date() }}) + 1 as timestamp)))
    {%- endif -%}
{%- endmacro %}
