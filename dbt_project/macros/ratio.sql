{#-
    numerator / denominator as numeric, null when the denominator is 0 or null (indicators.md:
    "a rate whose denominator is 0 is null, not 0"). Not rounded; trim_scale drops the division's
    trailing zeros (3/4 → 0.75, not 0.75000000000000000000), so figures compare and print plainly.
-#}
{% macro safe_ratio(numerator, denominator) -%}
    trim_scale(cast({{ numerator }} as numeric) / nullif(cast({{ denominator }} as numeric), 0))
{%- endmacro %}
