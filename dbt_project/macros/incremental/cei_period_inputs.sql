{#-
    int_cei_scores is incremental by period (the Monte Carlo of the rank bands is most of a
    night's build; a night changes the scores of a few periods only). What a period's rows were
    computed from is fingerprinted in each row (inputs_md5): the period's indicator scores
    (mart_indicator_score), the weights of every draw (int_cei_weight_draws: the seed's weights
    and the Monte Carlo vars), the data-sufficiency rules (cei_rules: which units earn an index,
    how many a ranking needs) and the model's own SQL. Whatever changed them upstream — a late
    file, the as-of, a scoring rule — the fingerprint tells, without tracking how.
-#}

{#- One row per period with a score: (period, inputs_md5). -#}
{% macro cei_period_inputs() -%}
    select
        scores.period,
        md5(
            string_agg(scores.unit_code || '|' || scores.indicator_code || '|' || cast(scores.score as text), ','
                       order by scores.unit_code, scores.indicator_code)
            || (select md5(string_agg(draw || '|' || parent_code || '|' || component_code || '|' || cast(weight as text), ','
                                      order by draw, parent_code, component_code))
                from {{ ref('int_cei_weight_draws') }})
            || (select md5(string_agg(rule_code || '|' || coalesce(indicator_code, '') || '|' || cast(threshold as text), ','
                                      order by rule_code, indicator_code))
                from {{ ref('cei_rules') }})
            || '{{ local_md5(model.raw_code) }}'
        ) as inputs_md5
    from {{ ref('mart_indicator_score') }} as scores
    where scores.score is not null
    group by scores.period
{%- endmacro %}

{#- The pre-hook: delete the periods whose inputs changed or that have no score any more. -#}
{% macro cei_forget_stale_periods() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as kept
        where not exists (
            select from ({{ cei_period_inputs() }}) as current_inputs
            where current_inputs.period = kept.period and current_inputs.inputs_md5 = kept.inputs_md5
        )
    {%- endif -%}
{%- endmacro %}
