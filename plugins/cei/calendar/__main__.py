"""`python -m cei.calendar`: refresh the configured warehouse's calendar (ad-hoc dbt runs)."""

from cei.calendar.store import main

raise SystemExit(main())
