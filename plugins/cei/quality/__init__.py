"""The Great Expectations gates: validate what was loaded, and what is about to be published.

Reviewable suite files in `expectations/` (format: expectations/README.md), two kinds:

- `raw_<feed>.json` — a feed's freshly loaded batches, after ingestion and before dbt
  (`validate_feeds`), on three assets: `rows` (default; the raw rows of the batches),
  `load_files` (the batches' ledger rows with quarantined and unknown-region shares) and
  `volume` (rows read per delivery date against the trailing median of earlier dates).
- `marts.<table>.json` — one mart, validated in the build schema dbt just wrote, before it is
  swapped in (`validate_marts`; write–audit–publish, see `cei.warehouse.publish_marts`), on the
  table itself (`table`, default) or a query the suite declares in `assets`.

Each gate is one GX checkpoint whose actions record the results (`meta.quality_results`,
`meta.quality_gates`) and render the Data Docs under `CEI_HOME/data_docs`. Each expectation has
a severity: `critical` stops the run with `GateFailed` and a one-line message for the data
steward, `warning` is recorded and reported.

- `suites` reads and checks the files; `assets` builds the SQL the suites run on;
  `checkpoint` runs a gate in GX; `record` holds the checkpoint's recording action;
  `outcomes` words the results; `gates` is the two gates.
"""

from cei.quality.checkpoint import docs_locations, sqlalchemy_url
from cei.quality.gates import validate_feed_batches, validate_feeds, validate_marts
from cei.quality.outcomes import gate_message
from cei.quality.suites import load_suite, marts_suite_paths, suite_path

__all__ = [
    "docs_locations",
    "gate_message",
    "load_suite",
    "marts_suite_paths",
    "sqlalchemy_url",
    "suite_path",
    "validate_feed_batches",
    "validate_feeds",
    "validate_marts",
]
