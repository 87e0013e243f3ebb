{#-
    The run's as-of (indicators.md): var `as_of`, a local wall-clock 'YYYY-MM-DD HH:MM:SS'
    (a bare 'YYYY-MM-DD' means that day's 23:59:59) in var `local_tz`. Everything "judged at
    as-of" uses these macros, never now(), so a rerun for the same delivery date gives the same
    figures. A malformed as-of stops compilation with a clear message.
-#}
{% macro as_of_text() -%}
    {%- set text = var('as_of') | string | trim -%}
    {%- if modules.re.fullmatch('\\d{4}-\\d{2}-\\d{2}', text) -%}
        {%- set text = text ~ ' 23:59:59' -%}
    {%- endif -%}
    {%- if not modules.re.fullmatch('\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}', text) -%}
        {{ exceptions.raise_compiler_error("var as_of must be 'YYYY-MM-DD HH:MM:SS' (local time), got '" ~ text ~ "'") }}
    {%- endif -%}
    {#- strptime rejects impossible dates such as 2026-02-30 -#}
    {{- modules.datetime.datetime.strptime(text, '%Y-%m-%d %H:%M:%S').strftime('%Y-%m-%d %H:%M:%S') -}}
{%- endmacro %}

{#- The as-of as a local wall-clock timestamp (timestamp without time zone). -#}
{% macro as_of_local() -%}
    cast('{{ as_of_text() }}' as timestamp)
{%- endmacro %}

{#- The as-of as an instant (timestamptz): the local wall clock read in var `local_tz`. -#}
{% macro as_of_timestamp() -%}
    ({{ as_of_local() }} at time zone '{{ var("local_tz") }}')
{%- endmacro %}

{#- The local date of the as-of: the last delivery date a run may see. -#}
{% macro as_of_date() -%}
    cast({{ as_of_local() }} as date)
{%- endmacro %}

{#- The first day of the as-of's local month. -#}
{% macro as_of_month() -%}
    cast(date_trunc('month', {{ as_of_local() }}) as date)
{%- endmacro %}
