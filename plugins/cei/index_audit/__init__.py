"""The composite-indicator audit of the consumer-environment index (docs/index.md).

    statistics.audit_period(indicators, components, weights) -> tidy DataFrame   (pure)
    mart.write_audit(conn, schema) -> rows                      # the nightly build, after dbt

The statistics need numpy / scipy / pandas, which dbt on PostgreSQL cannot run, so the build step
writes `mart_cei_audit` into the build schema itself, beside the marts dbt built: it is gated and
published with them.
"""

# The audit's thresholds, here so that the export states them without importing scipy.
# JRC/COINr outlier screen: an indicator is flagged when both hold.
SKEW_LIMIT = 2.0
KURTOSIS_LIMIT = 3.5
# Inside a sub-index, a correlation below this (but not negative) is flagged `weak`.
WEAK_CORRELATION = 0.3
