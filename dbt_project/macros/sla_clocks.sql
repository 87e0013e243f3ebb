{#- int_sla_clocks, incremental: the keys of its open clocks (`items`: a condition on clock_code)
    whose judgement the as-of can turn between the last build and this one — deadline on or after
    the earlier as-of's day, or beyond the calendar (pending until the calendar ends). Every other
    open clock was already missed at both as-ofs. Empty on a full build. -#}
{% macro sla_clocks_turning(items) -%}
    {%- set since = newest_versions_since() -%}
    {%- if since is not none -%}
    select item_id from {{ this }}
    where {{ items }} and is_open
        and (deadline_at_local is null
             or deadline_at_local >= cast(least(cast('{{ since.as_of_date }}' as date), {{ as_of_date() }}) as timestamp))
    {%- endif -%}
{%- endmacro %}
