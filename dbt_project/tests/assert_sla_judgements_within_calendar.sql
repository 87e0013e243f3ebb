-- A statutory deadline is never guessed (indicators.md): when a judgement needs working days the
-- calendar does not have — the clock started outside its years, or the deadline lies beyond its
-- last day while the item stopped (or, still open, the as-of lies) after that day — the build
-- fails here, before any indicator is published. The calendar reaches the year after the as-of
-- (provisional where no schedule is known), so this means data dated outside it, e.g. before
-- the library's first year. Fails with each undeterminable clock.
{{ config(severity='error') }}

with

bounds as (

    select
        min(calendar_date) as first_day,
        max(calendar_date) as last_day
    from {{ ref('int_calendar_days') }}

)

select
    clocks.clock_code,
    clocks.item_id,
    clocks.unit_code,
    clocks.started_at_local,
    clocks.stopped_at_local,
    {{ as_of_local() }} as as_of_local,
    'needs working days outside the calendar (' || coalesce(bounds.first_day::text, '?') || ' … '
        || coalesce(bounds.last_day::text, '?') || ')' as problem
from {{ ref('int_sla_clocks') }} as clocks
cross join bounds
where clocks.sla_status = 'undetermined'
