{#-
    An instant (timestamptz) as the local wall clock of var `local_tz` (timestamp without time
    zone): the month, date and deadline of an event are reckoned on this, whatever the
    session's TimeZone setting.
-#}
{% macro to_local(column) -%}
    ({{ column }} at time zone '{{ var("local_tz") }}')
{%- endmacro %}
