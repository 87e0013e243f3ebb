-- What each feed delivered per reporting period and unit: the business keys (in their latest
-- state) whose business date falls in the period — work orders by registration, ODR disputes by
-- filing, return reports by report month, inspection samples by sampling date (local time) — and
-- how many of the period's months have at least one. A feed with no row at all in a period
-- makes the period's export provisional whatever the date (docs/export.md).

{%- set feeds = [
    ('hotline', 'fct_work_orders', 'registered_at_local'),
    ('odr', 'fct_odr_disputes', 'filed_at_local'),
    ('returns', 'fct_return_reports', 'report_month'),
    ('inspection', 'fct_inspection_samples', 'sampled_on'),
] %}

with

{% for feed, model, business_date in feeds %}
{{ feed }}_months as (

    select
        '{{ feed }}' as feed,
        unit_code,
        cast(date_trunc('month', {{ business_date }}) as date) as month,
        count(*) as row_count
    from {{ ref(model) }}
    where unit_code is not null
    group by 1, 2, 3

),
{% endfor %}

feed_months as (

    {% for feed, _, _ in feeds -%}
    select * from {{ feed }}_months
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

),

feeds as (

    {% for feed, _, _ in feeds -%}
    select '{{ feed }}' as feed
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

),

period_months as (

    select * from {{ ref('int_period_months') }}

),

-- months: the period's calendar length (3 for a quarter), not only the months it has reached
periods as (

    select distinct
        period,
        period_type,
        (extract(year from period_end) - extract(year from period_start)) * 12
            + extract(month from period_end) - extract(month from period_start) + 1 as months
    from period_months

),

counted as (

    select
        period_months.period,
        feed_months.feed,
        feed_months.unit_code,
        sum(feed_months.row_count) as row_count,
        count(distinct feed_months.month) as months_present
    from feed_months
    inner join period_months
        on period_months.month = feed_months.month
    group by 1, 2, 3

),

final as (

    select
        periods.period,
        periods.period_type,
        feeds.feed,
        units.unit_code,
        units.unit_name,
        cast(coalesce(counted.row_count, 0) as bigint) as rows,
        cast(coalesce(counted.months_present, 0) as integer) as months_present,
        cast(periods.months as integer) as months
    from periods
    cross join feeds
    cross join {{ ref('dim_unit') }} as units
    left join counted
        on counted.period = periods.period
        and counted.feed = feeds.feed
        and counted.unit_code = units.unit_code

)

select * from final
