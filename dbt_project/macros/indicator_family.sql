{#-
    The closing select of an indicator family model (models/intermediate/indicators/): every
    indicator of `family` in ref_indicators × every (unit, month) of int_unit_months, with the
    figures of the CTE `figures` (unit_code, month, indicator_code, numerator, denominator) left
    joined on. A missing figure is 0, so every unit has every month:
      measure = rate: numerator and denominator (0 when none), value = numerator / denominator,
                      null when the denominator is 0 (indicators.md);
      count, sum, distinct_count: value = numerator = the figure, denominator null.
    calendar_status: 'provisional' when `calendar` and the figure's provisional_calendar column
    says a deadline it counts was reckoned on a provisional year's days (int_sla_clocks), else
    'official'. Only the months the build recomputes (macros/incremental/indicator_months.sql).
-#}
{% macro indicator_family_rows(family, figures='figures', calendar=false) -%}
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
        end as value,
        {%- if calendar %}
        case when coalesce(figures.provisional_calendar, false) then 'provisional' else 'official' end
        {%- else %}
        'official'
        {%- endif %} as calendar_status
    from {{ ref('int_unit_months') }} as unit_months
    cross join {{ ref('ref_indicators') }} as indicators
    left join {{ figures }} as figures
        on figures.unit_code = unit_months.unit_code
        and figures.month = unit_months.month
        and figures.indicator_code = indicators.indicator_code
    where indicators.family = '{{ family }}'
        and {{ indicator_months_since('unit_months.month') }}
{%- endmacro %}
