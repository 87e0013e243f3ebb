"""The landing convention (cei.landing) and the nightly sensor's decision (cei.nightly.poke_landing)."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from cei import landing, nightly
from cei.settings import LOCAL_TZ

DAY = date(2026, 7, 1)


def _file(root: Path, feed: str, name: str, age_s: float = 3600) -> Path:
    path = root / feed / DAY.isoformat() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def _now() -> datetime:
    return datetime.now(LOCAL_TZ)


def test_a_settled_folder_is_complete_and_a_feed_without_files_is_reported(tmp_path):
    _file(tmp_path, "hotline", "orders.csv")
    found = {d.feed: d for d in landing.deliveries(tmp_path, [DAY], _now(), 120)}
    assert found["hotline"].writing == () and found["hotline"].files == 1
    assert found["odr"].files == 0 and found["odr"].writing == ()
    assert landing.summary(list(found.values())) == (
        "odr/2026-07-01: no files; returns/2026-07-01: no files; inspection/2026-07-01: no files")


@pytest.mark.parametrize(("name", "age", "marker", "writing"), [
    ("orders.csv.part", 3600, False, "orders.csv.part (temporary name)"),
    (".orders.csv", 3600, True, ".orders.csv (temporary name)"),
    ("orders.csv", 5, False, "orders.csv (modified 5 s ago)"),
    ("orders.csv", 5, True, None),  # the marker says the copy is done
    ("orders.csv", 500, False, None),
])
def test_a_file_being_written(tmp_path, name, age, marker, writing):
    _file(tmp_path, "hotline", name, age)
    if marker:
        _file(tmp_path, "hotline", landing.MARKER)
    d = landing.delivery(tmp_path, "hotline", DAY, _now(), 120)
    assert d.writing == ((writing,) if writing else ())


def _context(root: Path, run_type: str, logical: datetime | None) -> dict:
    return {"params": {"landing": str(root), "delivery_dates": [DAY.isoformat()]},
            "dag_run": SimpleNamespace(run_type=run_type), "logical_date": logical}


def test_a_scheduled_night_waits_for_a_file_being_written_until_the_cut_off(tmp_path, monkeypatch):
    _file(tmp_path, "hotline", "orders.csv.part")
    _file(tmp_path, "odr", "disputes.jsonl")
    now = _now()
    monkeypatch.setenv("CEI_LANDING_CUTOFF", (now + timedelta(minutes=5)).strftime("%H:%M"))
    if (now + timedelta(minutes=5)).date() != now.date():
        pytest.skip("the cut-off would fall on tomorrow's date")
    assert nightly.poke_landing(_context(tmp_path, "scheduled", now)).is_done is False
    monkeypatch.setenv("CEI_LANDING_CUTOFF", (now - timedelta(minutes=1)).strftime("%H:%M"))
    done = nightly.poke_landing(_context(tmp_path, "scheduled", now))
    assert done.is_done and done.xcom_value.startswith("went ahead at the cut-off")
    assert "hotline/2026-07-01: still being written (orders.csv.part (temporary name))" in done.xcom_value
    assert "returns/2026-07-01: no files" in done.xcom_value


def test_a_triggered_night_does_not_wait_nor_count_fresh_files_as_unfinished(tmp_path):
    for feed, name in (("hotline", "orders.csv"), ("odr", "d.jsonl"), ("returns", "r.xlsx"), ("inspection", "i.csv")):
        _file(tmp_path, feed, name, age_s=0)
    done = nightly.poke_landing(_context(tmp_path, "manual", None))
    assert done.is_done and done.xcom_value is None


def test_the_night_of_a_scheduled_run_is_the_day_before(tmp_path):
    ctx = _context(tmp_path, "scheduled", datetime(2026, 7, 2, 2, 0, tzinfo=LOCAL_TZ))
    ctx["params"] = {"landing": None, "delivery_dates": []}
    assert nightly.night(ctx)[1] == ["2026-07-01"]
