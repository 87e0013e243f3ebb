"""The provincial performance-assessment export (indicators.md, docs/export.md).

    export_period(conn, "2026Q1", out_dir) -> ExportResult    # `cei export`
    periods_touched(conn, run_id) -> ["2026-03", "2026Q1", "2026"]
    refresh_exports(run_id, out_dir=None) -> [ExportResult]   # the nightly DAG, after publish

Modules, in the order the data flows: periods (what a period is, when it is final), catalogue
(the codes published, from marts.dim_indicator and marts.dim_cei_component, and the sheets that
show them), provenance (the as-of run, the load batches behind a period), figures (marts → the
catalogue and exact rounded Decimals, notes, feed coverage, rules, the index audit),
trend (a quarter's or year's months), csv_writer / workbook / manifest (the three files),
revisions (differences from the published figures), registry (meta.exports), touched (periods a
run changed), exporter (provisional / final / revision, atomic writes).
"""

from cei.export.exporter import ExportResult, FuturePeriod, export_dir, export_period, refresh_exports
from cei.export.figures import NoFigures
from cei.export.periods import BadPeriod, parse_period
from cei.export.touched import periods_touched

__all__ = [
    "BadPeriod",
    "ExportResult",
    "FuturePeriod",
    "NoFigures",
    "export_dir",
    "export_period",
    "parse_period",
    "periods_touched",
    "refresh_exports",
]
