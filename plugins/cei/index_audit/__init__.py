"""The composite-indicator audit of the consumer-environment index (docs/index.md).

    statistics.audit_period(indicators, components, weights) -> tidy DataFrame   (pure)
    mart.write_audit(conn, schema) -> rows                      # the nightly build, after dbt

The statistics need numpy / scipy / pandas, which dbt on PostgreSQL cannot run, so the build step
writes `mart_cei_audit` into the build schema itself, beside the marts dbt built: it is gated and
published with them.
"""
