-- A statutory deadline is never guessed (indicators.md): when a judgement needs working days the
-- calendar library does not have — the clock started outside its years, or the deadline lies
-- beyond its last day while the item stopped (or, still open, the as-of lies) after that day —
-- the build fails here, before any indicator is published. Fix: upgrade `chinesecalendar` (the
-- State Council publishes next year's schedule each autumn; pin it in requirements.lock) and
-- rerun. Fails with each undeterminable clock.
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
    'needs working days outside the calendar library (' || coalesce(bounds.first_day::text, '?') || ' … '
        || coalesce(bounds.last_day::text, '?') || '): upgrade chinesecalendar' as problem
from {{ ref('int_sla_clocks') }} as clocks
cross join bounds
where clocks.sla_status = 'undetermined'
