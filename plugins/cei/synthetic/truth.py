"""The ground truth `generate` returns and writes, and the accounting that derives it from the files as
written (see "Ground truth" in `cei.synthetic` for what it assumes).

The accounting mirrors the ingestion's ledger rules — ignored files, same bytes delivered again,
rejected files, quarantined rows, exact duplicates, newest-wins — without running the ingestion.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cei.settings import FEED_NAMES
from cei.synthetic.world import Artifact


@dataclass
class FileTruth:
    """What the ingestion must record for one file in a delivery folder."""

    feed: str
    delivery_date: str  # YYYY-MM-DD: the delivery folder
    file_name: str
    status: str  # loaded | rejected | duplicate_file | ignored
    # rejected: the reader's FileDefect message starts with this (the ledger reason is
    # "<feed>/<date>/<file>: " + that message); duplicate_file / ignored: the ledger reason starts with it.
    reason: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_warned: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)  # reason code → rows
    warnings: dict[str, int] = field(default_factory=dict)  # "<code>:<column>" → loaded rows
    quarantined_rows: list[tuple[int, str]] = field(default_factory=list)  # (source row, reason code)
    duplicate_rows: list[int] = field(default_factory=list)  # source rows skipped as exact duplicates
    warned_rows: list[tuple[int, str]] = field(default_factory=list)  # (source row, warning)


@dataclass
class FeedTruth:
    files: dict[str, int]  # status → files
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    rows_warned: int
    quarantined: dict[str, int]
    warnings: dict[str, int]
    # After newest-wins over the loaded rows: "keys" = distinct business keys, plus feed breakdowns.
    latest: dict[str, Any]


@dataclass
class GroundTruth:
    seed: int
    scale: int
    start: str
    days: int
    defect_rate: float
    feeds: dict[str, FeedTruth]
    files: list[FileTruth]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n"


# ------------------------------------------------------------------------------------------------
# Accounting


def ground_truth(artifacts: list[Artifact], *, seed: int, scale: int, start: date, days: int,
                 defect_rate: float) -> GroundTruth:
    files: list[FileTruth] = []
    feeds: dict[str, FeedTruth] = {}
    for feed in FEED_NAMES:
        loaded_bytes: set[str] = set()
        seen: set[int] = set()
        latest: dict[tuple[Any, ...], tuple[tuple[Any, ...], dict[str, Any]]] = {}
        truths = []
        ordered = sorted((a for a in artifacts if a.feed == feed), key=lambda a: (a.day, a.name))
        for order, a in enumerate(ordered):
            t = FileTruth(feed, a.day.isoformat(), a.name, "loaded")
            digest = hashlib.sha256(a.data).hexdigest()
            if a.ignore:
                t.status, t.reason = "ignored", a.ignore
            elif digest in loaded_bytes:
                t.status, t.reason = "duplicate_file", "same bytes as"
            elif a.defect:
                t.status, t.reason = "rejected", a.defect
            else:
                loaded_bytes.add(digest)
                _account_rows(t, a, order, seen, latest)
            truths.append(t)
        files += truths
        feeds[feed] = _feed_truth(feed, truths, [state for _, state in latest.values()])
    return GroundTruth(seed=seed, scale=scale, start=start.isoformat(), days=days, defect_rate=defect_rate,
                       feeds=feeds, files=files)


def _account_rows(t: FileTruth, a: Artifact, order: int, seen: set[int],
                  latest: dict[tuple[Any, ...], tuple[tuple[Any, ...], dict[str, Any]]]) -> None:
    for row, number in zip(a.rows, a.row_numbers, strict=True):
        t.rows_read += 1
        if row.code and ":" not in row.code:
            t.quarantined_rows.append((number, row.code))
        elif row.ident in seen:
            t.duplicate_rows.append(number)
        else:
            seen.add(row.ident)
            t.rows_loaded += 1
            if row.code:
                t.warned_rows.append((number, row.code))
            # Newest wins by the feed's timestamp; ties and feeds without one: delivery order.
            rank = (row.rank or datetime.min, order, number)
            if row.key not in latest or latest[row.key][0] < rank:
                latest[row.key] = (rank, row.state)
    t.rows_quarantined, t.rows_duplicate, t.rows_warned = (
        len(t.quarantined_rows), len(t.duplicate_rows), len(t.warned_rows))
    t.quarantined = _count(code for _, code in t.quarantined_rows)
    t.warnings = _count(code for _, code in t.warned_rows)


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def _feed_truth(feed: str, truths: list[FileTruth], states: list[dict[str, Any]]) -> FeedTruth:
    quarantined: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    for t in truths:
        quarantined.update(t.quarantined)
        warnings.update(t.warnings)
    latest: dict[str, Any] = {"keys": len(states)}
    if feed == "hotline":
        latest |= {"kind": _count(s["kind"] for s in states), "outcome": _count(s["outcome"] for s in states)}
    elif feed == "odr":
        latest["status"] = _count(s["status"] for s in states)
    elif feed == "inspection":
        latest["channel_result"] = _count(f"{s['channel']}/{s['result']}" for s in states)
    else:
        latest |= {"return_items": sum(s["items"] for s in states),
                   "refund_amount": str(sum((s["refund"] for s in states), Decimal("0.00")))}
    return FeedTruth(
        files=_count(t.status for t in truths),
        rows_read=sum(t.rows_read for t in truths), rows_loaded=sum(t.rows_loaded for t in truths),
        rows_quarantined=sum(t.rows_quarantined for t in truths),
        rows_duplicate=sum(t.rows_duplicate for t in truths), rows_warned=sum(t.rows_warned for t in truths),
        quarantined=dict(sorted(quarantined.items())), warnings=dict(sorted(warnings.items())), latest=latest,
    )
