"""The synthetic generator: deterministic, laid out as feeds.md says, and its ground truth is what the
readers and row parser actually make of every file (no database: the ledger logic is mirrored here)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cei.feeds import FEEDS, Feed
from cei.ingest.readers import FileDefect, open_records
from cei.ingest.rows import Parsed, RowContext, parse_record
from cei.reference import valid_region_codes
from cei.synthetic import GroundTruth, generate

CTX = RowContext(valid_regions=valid_region_codes(), pii_secret=b"x")
SMALL = {"scale": 600, "seed": 7, "start": date(2026, 9, 1), "days": 45}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GroundTruth]:
    out = tmp_path_factory.mktemp("clean")
    return out, generate(out, scale=1500, seed=11)


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GroundTruth]:
    out = tmp_path_factory.mktemp("defective")
    return out, generate(out, scale=3000, seed=5, start=date(2026, 8, 20), days=45, defect_rate=0.3)


def _digests(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


def _observe(out: Path) -> tuple[dict[tuple[str, str, str], dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every file through readers + rows, with the ledger's rules (ignore, same bytes, exact duplicates),
    in delivery order; and the latest state per business key after newest-wins."""
    files: dict[tuple[str, str, str], dict[str, Any]] = {}
    latest: dict[str, dict[str, Any]] = {}
    for name, feed in FEEDS.items():
        loaded_bytes: set[str] = set()
        seen: set[tuple[Any, ...]] = set()
        winners: dict[tuple[Any, ...], tuple[tuple[Any, ...], dict[str, Any]]] = {}
        paths = sorted(p for p in (out / name).rglob("*") if p.is_file())
        for order, path in enumerate(paths):
            obs = files[(name, path.parent.name, path.name)] = {"status": "loaded", "reason": None}
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if path.name.startswith((".", "~$", "_")) or path.suffix.lower() != feed.extension:
                obs["status"] = "ignored"
            elif digest in loaded_bytes:
                obs["status"] = "duplicate_file"
            else:
                try:
                    outcomes = _read(feed, path)
                except FileDefect as defect:
                    obs |= {"status": "rejected", "reason": str(defect)}
                    continue
                loaded_bytes.add(digest)
                obs |= _account(feed, outcomes, order, seen, winners)
        latest[name] = _summary(name, [state for _, state in winners.values()])
    return files, latest


def _read(feed: Feed, path: Path) -> list[tuple[int, Any]]:
    with open_records(feed, path, 1 << 20) as opened:
        return [(rec.row_number, rec.defect or parse_record(feed, rec.values, CTX)) for rec in opened.records]


def _account(feed: Feed, outcomes: list[tuple[int, Any]], order: int, seen: set[tuple[Any, ...]],
             winners: dict[tuple[Any, ...], tuple[tuple[Any, ...], dict[str, Any]]]) -> dict[str, Any]:
    quarantined, duplicates, warned = [], [], []
    columns = [c.name for c in feed.stored_columns]
    for number, outcome in outcomes:
        if not isinstance(outcome, Parsed):
            quarantined.append((number, outcome if isinstance(outcome, str) else outcome.reason_code))
            continue
        typed = tuple(outcome.values[c] for c in columns)  # what the row_hash is computed from
        if typed in seen:
            duplicates.append(number)
            continue
        seen.add(typed)
        warned += [(number, w) for w in outcome.warnings]
        key = tuple(outcome.values[k] for k in feed.business_key)
        rank = ((outcome.values[feed.newest_wins],) if feed.newest_wins else ()) + (order, number)
        if key not in winners or winners[key][0] < rank:
            winners[key] = (rank, outcome.values)
    return {"rows_read": len(outcomes), "quarantined_rows": quarantined, "duplicate_rows": duplicates,
            "warned_rows": warned}


def _summary(feed: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    def count(values: Any) -> dict[str, int]:
        return dict(sorted(Counter(values).items()))

    out: dict[str, Any] = {"keys": len(rows)}
    if feed == "hotline":
        out |= {"kind": count(r["kind"] for r in rows),
                "outcome": count(r["outcome"] or "open" for r in rows)}
    elif feed == "odr":
        out["status"] = count(r["status"] for r in rows)
    elif feed == "inspection":
        out["channel_result"] = count(f"{r['channel']}/{r['result']}" for r in rows)
    else:
        out |= {"return_items": sum(r["return_items"] for r in rows),
                "refund_amount": str(sum((r["refund_amount"] for r in rows), Decimal("0.00")))}
    return out


def _assert_matches(out: Path, truth: GroundTruth) -> dict[tuple[str, str, str], dict[str, Any]]:
    observed, latest = _observe(out)
    assert set(observed) == {(t.feed, t.delivery_date, t.file_name) for t in truth.files}
    for t in truth.files:
        obs = observed[(t.feed, t.delivery_date, t.file_name)]
        where = f"{t.feed}/{t.delivery_date}/{t.file_name}"
        assert obs["status"] == t.status, where
        if t.status == "rejected":
            assert obs["reason"].startswith(t.reason), (where, obs["reason"])
        if t.status == "loaded":
            assert obs["rows_read"] == t.rows_read, where
            assert obs["quarantined_rows"] == [tuple(q) for q in t.quarantined_rows], where
            assert obs["duplicate_rows"] == t.duplicate_rows, where
            assert obs["warned_rows"] == [tuple(w) for w in t.warned_rows], where
    for feed, summary in latest.items():
        assert summary == truth.feeds[feed].latest, feed
    return observed


def test_same_arguments_same_bytes_in_any_process(tmp_path: Path) -> None:
    generate(tmp_path / "a", defect_rate=0.05, **SMALL)
    # Another interpreter with another hash seed: nothing may depend on set order or the clock.
    script = ("import sys, datetime; from pathlib import Path; from cei.synthetic import generate; "
              "generate(Path(sys.argv[1]), scale=600, seed=7, start=datetime.date(2026, 9, 1), days=45, "
              "defect_rate=0.05)")
    env = os.environ | {"PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "b")], check=True, env=env)
    generate(tmp_path / "c", defect_rate=0.05, **(SMALL | {"seed": 8}))
    a, b, c = (_digests(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c


def test_layout_and_noise(clean: tuple[Path, GroundTruth]) -> None:
    out, truth = clean
    window = {f"2026-{m:02d}-{d:02d}" for m, n in ((7, 31), (8, 31), (9, 30)) for d in range(1, n + 1)}
    assert sorted(p.name for p in out.iterdir()) == ["ground_truth.json", *sorted(FEEDS)]
    for feed in FEEDS:
        assert {p.name for p in (out / feed).iterdir()} <= window
    names = {t.file_name for t in truth.files if t.status == "ignored"}
    assert {"README.txt", "_SUCCESS"} <= names
    assert json.loads((out / "ground_truth.json").read_text(encoding="utf-8")) == json.loads(truth.to_json())
    # Work orders re-appear with newer state, and returns arrive for June, July and August only.
    assert truth.feeds["hotline"].rows_read > 2 * truth.feeds["hotline"].latest["keys"] == 2 * 1500
    returns = [t for t in truth.files if t.feed == "returns" and t.status == "loaded"]
    months = {t.file_name.split("_")[1][:8] for t in returns}
    assert months == {"2026年06月", "2026年07月", "2026年08月"}


def test_clean_generation_loads_without_a_single_complaint(clean: tuple[Path, GroundTruth]) -> None:
    out, truth = clean
    observed = _assert_matches(out, truth)
    assert {o["status"] for o in observed.values()} == {"loaded", "ignored"}
    assert all(not o.get("quarantined_rows") and not o.get("duplicate_rows") and not o.get("warned_rows")
               for o in observed.values())


def test_every_variant_is_exercised(clean: tuple[Path, GroundTruth]) -> None:
    out, _ = clean
    raw = {p: p.read_bytes() for p in out.rglob("*.csv")}
    assert any(b.startswith(b"\xef\xbb\xbf") for b in raw.values())
    assert any(not b.startswith(b"\xef\xbb\xbf") and _is_utf8(b) and not b.isascii() for b in raw.values())
    assert any(not _is_utf8(b) for b in raw.values())  # GB18030
    text = "\n".join(b.decode("utf-8-sig") if _is_utf8(b) else b.decode("gb18030") for b in raw.values())
    for sample in ("\r\n", "2026/7/", "2026/07/", ",\"", "\u3000", " 1,", "+86 "):
        assert sample in text, sample
    assert any(b.count(b"\r\n") == 0 for b in raw.values())
    jsonl = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.jsonl"))
    assert "\n\n" in jsonl and "batch_no" in jsonl and "+08:00" in jsonl and "null" in jsonl


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_ground_truth_accounting_holds_for_every_file(defective: tuple[Path, GroundTruth]) -> None:
    _, truth = defective
    for t in truth.files:
        assert t.rows_read == t.rows_loaded + t.rows_quarantined + t.rows_duplicate, t
        assert sum(t.quarantined.values()) == t.rows_quarantined
        assert sum(t.warnings.values()) == t.rows_warned <= t.rows_loaded
        if t.status != "loaded":
            assert t.rows_read == 0 and t.reason
    for feed, totals in truth.feeds.items():
        files = [t for t in truth.files if t.feed == feed]
        assert totals.rows_read == sum(t.rows_read for t in files)
        assert totals.rows_read == totals.rows_loaded + totals.rows_quarantined + totals.rows_duplicate
        assert sum(totals.files.values()) == len(files)


def test_defects_are_classified_exactly_as_the_ingestion_does(defective: tuple[Path, GroundTruth]) -> None:
    out, truth = defective
    _assert_matches(out, truth)
    codes = {feed: set(t.quarantined) | set(t.warnings) for feed, t in truth.feeds.items()}
    assert codes["hotline"] >= {
        "missing_required", "bad_timestamp", "bad_enum", "unknown_region", "negative_value",
        "closed_before_registered", "accepted_before_registered", "bad_row_shape",
        "bad_uscc:respondent_uscc", "bad_number:disputed_amount", "bad_number:recovered_loss"}
    assert codes["odr"] >= {"missing_required", "bad_uscc", "unknown_region", "bad_timestamp", "bad_enum",
                            "negative_value", "closed_before_filed", "bad_json", "bad_number:amount"}
    assert codes["returns"] >= {"missing_required", "bad_uscc", "unknown_region", "bad_month",
                                "negative_value", "bad_date", "bad_integer", "bad_number"}
    assert codes["inspection"] >= {"missing_required", "bad_date", "unknown_region", "bad_enum",
                                   "bad_timestamp", "bad_row_shape", "bad_uscc:enterprise_uscc"}
    reasons = {t.reason for t in truth.files if t.status == "rejected"}
    assert reasons == {"missing columns: 登记时间", "empty file", "undecodable", "not an XLSX workbook"}
    assert any(t.status == "duplicate_file" for t in truth.files)
    assert all(truth.feeds[f].rows_duplicate > 0 for f in FEEDS)


def test_defects_leave_the_business_model_alone(tmp_path: Path) -> None:
    clean = generate(tmp_path / "clean", **SMALL)
    dirty = generate(tmp_path / "dirty", defect_rate=0.1, **SMALL)
    data_files = {(t.feed, t.delivery_date, t.file_name) for t in clean.files}
    assert data_files <= {(t.feed, t.delivery_date, t.file_name) for t in dirty.files}
    for feed in FEEDS:
        assert dirty.feeds[feed].latest["keys"] <= clean.feeds[feed].latest["keys"]
        assert dirty.feeds[feed].rows_read >= clean.feeds[feed].rows_read
    assert clean.feeds["hotline"].latest["keys"] == SMALL["scale"]


def test_refuses_to_mix_with_an_earlier_generation(tmp_path: Path) -> None:
    (tmp_path / "hotline" / "2026-07-01").mkdir(parents=True)
    (tmp_path / "hotline" / "2026-07-01" / "x.csv").write_text("old")
    with pytest.raises(FileExistsError):
        generate(tmp_path, scale=10)
    with pytest.raises(ValueError):
        generate(tmp_path / "new", scale=10, defect_rate=1.5)


def test_a_window_keeps_later_versions_in_tagged_files(tmp_path: Path) -> None:
    # How `cei bench` generates large volumes: windows of registration days whose work orders and
    # disputes are delivered again until the history's last night.
    window = {"scale": 400, "seed": 3, "start": date(2026, 9, 1), "days": 10}
    cut = generate(tmp_path / "cut", **window)
    kept = generate(tmp_path / "kept", **window, versions_until=date(2026, 11, 30), file_tag="w007")
    last_day = date(2026, 9, 10)
    for feed in FEEDS:
        dates = {date.fromisoformat(p.name) for p in (tmp_path / "kept" / feed).iterdir()}
        later = {d for d in dates if d > last_day}
        assert bool(later) == (feed in ("hotline", "odr")), feed  # rosters and samples stay in the window
        assert max(dates) <= date(2026, 11, 30)
    assert all("_w007" in t.file_name for t in kept.files)
    for feed in ("hotline", "odr"):
        assert kept.feeds[feed].latest["keys"] == cut.feeds[feed].latest["keys"]
        assert kept.feeds[feed].rows_read > cut.feeds[feed].rows_read
    _assert_matches(tmp_path / "kept", kept)
    with pytest.raises(ValueError):
        generate(tmp_path / "early", **window, versions_until=date(2026, 9, 5))
