"""What a gate validates, as SQL: the assets of the raw suites and the marts suites' queries.

A raw suite's expectations run on three assets built here for the batches being gated: `rows`
(the raw rows of the files), `load_files` (their ledger rows, with quarantined and
unknown-region shares) and `volume` (rows read per delivery date against the trailing median).
A marts suite's expectations run on the mart itself or on a query the suite declares.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cei import settings as cfg
from cei.errors import CeiError
from cei.feeds import Feed
from cei.quality.suites import ASSETS, SuiteFile


@dataclass(frozen=True)
class Check:
    """One validation of a gate: a suite's expectations on one asset (a query, or a table)."""

    suite: SuiteFile
    asset: str
    target: str  # a feed, or a published mart `marts.<table>`
    query: str | None = None
    table: tuple[str, str] | None = None  # (schema, table) for a table asset
    index: tuple[str, ...] = ()  # columns locating an unexpected row for the steward
    unit: str = "rows"  # what one row of the asset is, in observed text

    @property
    def name(self) -> str:
        """The GX suite and validation name: `raw_hotline.rows`, `marts.mart_cei.table`."""
        return f"{self.suite.name}.{self.asset}"


# Columns that locate an unexpected row or file for the steward, and what a row is, per raw asset.
RAW_INDEX = {
    "rows": ("load_file_id", "source_row"),
    "load_files": ("file_name",),
    "volume": ("delivery_date", "rows_read", "trailing_median"),
}
RAW_UNITS = {"rows": "rows", "load_files": "files", "volume": "delivery dates"}


def file_ids_of(file_ids: Iterable[int]) -> list[int]:
    ids = []
    for i in file_ids:
        if isinstance(i, bool):
            raise TypeError("file ids are integers")
        ids.append(operator.index(i))  # an int (or int-like), never text
    return sorted(set(ids))


def _in_list(ids: list[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _qualified(schema: str, table: str) -> str:
    return f"{_quote(schema)}.{_quote(table)}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Columns the rows asset offers besides the feed's typed columns: lineage, and a computed flag.
_LINEAGE = ("load_file_id", "delivery_date", "source_row")
_COMPUTED = {"field_warning_flag": "case when cardinality(warnings) > 0 then 1 else 0 end"}


def rows_columns(feed: Feed) -> tuple[str, ...]:
    """Every column an expectation on the `rows` asset may name."""
    return (*_LINEAGE, *(c.name for c in feed.stored_columns), *_COMPUTED)


def condition_columns(condition: Any) -> list[str]:
    """Columns a GX 1.x row condition names (`{"type": "comparison", "column": {"name": …},
    "operator": …, "parameter": …}`, `nullity`, or `and`/`or` of those)."""
    if not isinstance(condition, dict):
        return []
    if isinstance(condition.get("conditions"), list):
        return [c for sub in condition["conditions"] for c in condition_columns(sub)]
    name = (condition.get("column") or {}).get("name")
    return [name] if isinstance(name, str) else []



def referenced_columns(expectations: Iterable[dict]) -> list[str]:
    out: list[str] = []
    for item in expectations:
        kw = item["kwargs"]
        out += [kw[k] for k in ("column", "column_A", "column_B") if isinstance(kw.get(k), str)]
        out += [c for c in kw.get("column_list") or () if isinstance(c, str)]
        out += condition_columns(kw.get("row_condition"))
    return list(dict.fromkeys(out))


def rows_query(feed: Feed, ids: list[int], columns: Iterable[str] | None = None) -> str:
    """The raw rows of the batches: `load_file_id`, `source_row` (to point at unexpected rows)
    and `columns` (default: all of `rows_columns`). Only the columns the suite names are
    selected because GX executes a query asset's query once as it stands to learn its columns
    (the result crosses the wire), whereas every check itself runs as an aggregate in SQL."""
    wanted = list(dict.fromkeys(["load_file_id", "source_row", *(columns or rows_columns(feed))]))
    unknown = [c for c in wanted if c not in rows_columns(feed)]
    if unknown:
        raise ValueError(f"raw {feed.name} rows have no column {', '.join(unknown)}")
    select = ", ".join(f'{_COMPUTED[c]} as "{c}"' if c in _COMPUTED else f'"{c}"' for c in wanted)
    return (
        f"select {select} from {_qualified(cfg.RAW, feed.table)}"
        f" where load_file_id in ({_in_list(ids)})"
    )


# Columns of the load_files asset (see load_files_query).
LOAD_FILES_COLUMNS = (
    "file_id", "file_name", "delivery_date", "status", "rows_read", "rows_loaded", "rows_quarantined",
    "rows_duplicate", "raw_rows", "batch_rows_read", "quarantined_share", "batch_quarantined_share",
    "unknown_region_rows", "unknown_region_share", "batch_unknown_region_share",
)
# Columns of the volume asset (see volume_query).
VOLUME_COLUMNS = ("delivery_date", "rows_read", "history_nights", "trailing_median", "volume_ratio")
VOLUME_HISTORY_NIGHTS = 7  # the trailing window: this many earlier delivery dates with loads


def check_columns(suite: SuiteFile, feed: Feed) -> None:
    """Every column a raw suite names exists in its asset: a typo fails before any query runs."""
    known = {"rows": rows_columns(feed), "load_files": LOAD_FILES_COLUMNS, "volume": VOLUME_COLUMNS}
    for asset in ASSETS:
        unknown = [c for c in referenced_columns(suite.for_asset(asset)) if c not in known[asset]]
        if unknown:
            raise CeiError(f"quality suite {suite.path.name}: the {asset} asset has no column {', '.join(unknown)}")


def load_files_query(feed: Feed, ids: list[int]) -> str:
    """The ledger rows of the batches (LOAD_FILES_COLUMNS): one per file, with its quarantined
    and unknown-region shares of the rows read, the rows read and the same shares over all the
    batches (`batch_*`, the same value on every row) and the rows actually present in raw for it."""
    raw = _qualified(cfg.RAW, feed.table)
    quarantine = _qualified(cfg.QUARANTINE, "quarantined_rows")
    return (
        "with f as (select f.*,"
        f" (select count(*) from {raw} r where r.load_file_id = f.file_id) as raw_rows,"
        f" (select count(*) from {quarantine} q where q.load_file_id = f.file_id"
        "   and q.reason_code = 'unknown_region') as unknown_region_rows"
        f" from {_qualified(cfg.META, 'load_files')} f where f.file_id in ({_in_list(ids)}))"
        " select file_id, file_name, delivery_date, status, rows_read, rows_loaded, rows_quarantined,"
        " rows_duplicate, raw_rows, sum(rows_read) over () as batch_rows_read,"
        " round(rows_quarantined::numeric / nullif(rows_read, 0), 4)::float8 as quarantined_share,"
        " coalesce(round(sum(rows_quarantined) over ()::numeric"
        " / nullif(sum(rows_read) over (), 0), 4), 0)::float8 as batch_quarantined_share,"
        " unknown_region_rows,"
        " round(unknown_region_rows::numeric / nullif(rows_read, 0), 4)::float8 as unknown_region_share,"
        " coalesce(round(sum(unknown_region_rows) over ()::numeric"
        " / nullif(sum(rows_read) over (), 0), 4), 0)::float8 as batch_unknown_region_share"
        " from f"
    )


def volume_query(feed: Feed, ids: list[int]) -> str:
    """One row per delivery date of the batches (VOLUME_COLUMNS): the rows read from every loaded
    file of the feed on that date (the ledger as it stands, so a late extra file adds to its
    night), and the median of the same total over the previous VOLUME_HISTORY_NIGHTS delivery
    dates that had loads. `volume_ratio` = rows read / trailing median; null when there is no
    earlier night to compare with (the first nights) or the median is 0."""
    ledger = _qualified(cfg.META, "load_files")
    return (
        "with nights as (select delivery_date, sum(rows_read) as rows_read"
        f" from {ledger} where feed = {_literal(feed.name)} and status = 'loaded' group by delivery_date),"
        f" batch as (select distinct delivery_date from {ledger} where file_id in ({_in_list(ids)}))"
        " select n.delivery_date, n.rows_read, h.history_nights, h.trailing_median,"
        " round((n.rows_read / nullif(h.trailing_median, 0))::numeric, 4)::float8 as volume_ratio"
        " from batch b join nights n using (delivery_date)"
        " cross join lateral (select count(*) as history_nights,"
        "   percentile_cont(0.5) within group (order by p.rows_read) as trailing_median"
        "   from (select rows_read from nights p where p.delivery_date < b.delivery_date"
        f"   order by p.delivery_date desc limit {VOLUME_HISTORY_NIGHTS}) p) h"
    )


def marts_query(suite: SuiteFile, asset: str, schema: str) -> str:
    """A marts suite's declared query asset, over the validated schema."""
    return suite.assets[asset].query.replace("{schema}", _quote(schema))
