"""The official calendar owned by the bureau, in a real warehouse: `cei calendar import` and
`status`, dbt's deadlines on an imported year, and — through Airflow, as the nights run — a
provisional year that flags its figures and keeps their period from being final until the
schedule is imported, after which a changed final figure goes out as a revision.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from cei import calendar, cli, synthetic, transform, warehouse
from cei.calendar import days
from cei.settings import LOCAL_TZ, PROJECT_ROOT

EXAMPLE_2025 = PROJECT_ROOT / "docs" / "calendar" / "2025.csv"
SLA_CODES = {"complaint_accept_ontime_rate", "complaint_close_ontime_rate", "report_verify_ontime_rate",
             "odr_ontime_rate"}
INDEX_CODES = {"cei", "cei_efficiency", "cei_satisfaction", "cei_source", "cei_quality"}


def _write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("date", "day_type", "note"))
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _spring_festival_2027(path: Path) -> Path:
    """A fictitious 2027 notice: Mon 02-08 … Fri 02-12 off, Sat 02-06 and Sun 02-14 worked."""
    rows = [("2027-01-01", "holiday", "元旦"), ("2027-02-06", "workday", "春节调休")]
    rows += [(f"2027-02-{d:02d}", "holiday", "春节") for d in range(8, 13)]
    rows += [("2027-02-14", "workday", "春节调休")]
    return _write(path, rows)


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("content", "reason"), [
    ("date,day_type\n2027-02-08,holiday\n", "missing column 'note'"),
    ("date,day_type,note,extra\n", "unknown column 'extra'"),
    ("date,day_type,note\n2027-02-06,holiday,春节\n", "weekend"),
    ("date,day_type,note\n2027-02-08,workday,x\n", "2027-02-08 is a Monday"),
    ("date,day_type,note\n2027-02-08,holiday,x\n2028-02-08,holiday,x\n", "one year"),
    ("date,day_type,note\n2027-02-08,holiday,x\n2027-02-08,holiday,x\n", "2027-02-08"),
    ("date,day_type,note\n2027-02-30,holiday,x\n", "2027-02-30"),
    ("date,day_type,note\n2027-02-08,day-off,x\n", "day-off"),
])
def test_a_bad_calendar_file_is_refused_whole_with_one_line(warehouse_url, tmp_path, capsys, content, reason):
    path = tmp_path / "2027.csv"
    path.write_text(content, encoding="utf-8")
    code, _, err = _cli(capsys, "calendar", "import", str(path))
    assert code == 1 and err.count("\n") == 1 and err.startswith("cei: error: ") and reason in err, err
    with warehouse.connect() as conn:
        assert conn.execute("select count(*) from meta.calendar_imports").fetchone()[0] == 0


def test_an_imported_year_drives_dbts_deadlines_and_a_second_import_replaces_it(
    warehouse_url, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("CEI_USER", "calendar-steward")
    first = _spring_festival_2027(tmp_path / "2027.csv")
    code, out, err = _cli(capsys, "calendar", "import", str(first))
    assert code == 0, err
    assert "imported the official calendar of 2027" in out and "6 weekday(s) off, 2 make-up" in out
    assert "warning: the official calendar of 2027" not in out  # imported: not provisional

    transform.run_dbt(["run", "--select", "+int_working_day_deadlines"],
                      as_of=datetime(2027, 2, 1, 23, 59, 59, tzinfo=LOCAL_TZ))
    schedule = calendar.read_schedule(first)
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select start_date, working_days, deadline_at_local, deadline_provisional"
            " from intermediate.int_working_day_deadlines"
            " where start_date between '2027-01-25' and '2027-03-15' order by 1, 2"
        ).fetchall()
        sources = dict(conn.execute(
            "select year_source, count(*) from reference.calendar_days"
            " where calendar_date between '2027-01-01' and '2027-12-31' group by 1").fetchall())
    assert sources == {"imported": 365}
    by_key = {(start, n): (at, provisional) for start, n, at, provisional in rows}
    # Thursday 02-04, N = 7: Fri 05 (1), make-up Sat 06 (2), the festival week off, make-up
    # Sun 14 (3), Mon 15 … Thu 18 (4–7).
    assert by_key[(date(2027, 2, 4), 7)][0] == datetime(2027, 2, 18, 23, 59, 59)
    checked = 0
    for (start, n), (at, provisional) in by_key.items():
        expected = days.deadline(datetime.combine(start, datetime.min.time(), LOCAL_TZ), n, {2027: schedule})
        assert at == expected.replace(tzinfo=None), (start, n)
        assert provisional is False
        checked += 1
    assert checked > 150

    # The same year again, corrected: replaced whole, both imports in the ledger.
    second = _write(tmp_path / "2027-corrected.csv", [("2027-01-01", "holiday", "元旦")])
    code, out, err = _cli(capsys, "calendar", "import", str(second))
    assert code == 0, err
    with warehouse.connect() as conn:
        assert conn.execute("select count(*) from reference.calendar_schedules where year = 2027").fetchone() == (1,)
        ledger = conn.execute(
            "select file_name, sha256, holidays, workdays, imported_by from meta.calendar_imports order by import_id"
        ).fetchall()
    assert [(r[0], r[2], r[3], r[4]) for r in ledger] == [
        ("2027.csv", 6, 2, "calendar-steward"), ("2027-corrected.csv", 1, 0, "calendar-steward")]
    assert ledger[1][1] == calendar.read_schedule(second).sha256
    code, out, _ = _cli(capsys, "calendar", "status")
    line = next(ln for ln in out.splitlines() if ln.startswith("2027"))
    assert line.split()[:4] == ["2027", "imported", "1", "0"] and "2027-corrected.csv" in line


def test_the_example_file_imports_as_the_librarys_2025(warehouse_url, capsys):
    with warehouse.connect(autocommit=True) as conn:
        calendar.refresh_calendar(conn)
        before = conn.execute(
            "select calendar_date, is_workday, is_makeup_workday from reference.calendar_days"
            " where extract(year from calendar_date) = 2025 order by 1").fetchall()
    assert _cli(capsys, "calendar", "import", str(EXAMPLE_2025))[0] == 0
    with warehouse.connect() as conn:
        after = conn.execute(
            "select calendar_date, is_workday, is_makeup_workday from reference.calendar_days"
            " where extract(year from calendar_date) = 2025 order by 1").fetchall()
        assert conn.execute("select distinct year_source from reference.calendar_days"
                            " where extract(year from calendar_date) = 2025").fetchall() == [("imported",)]
    assert len(after) == 365 and after == before


def test_calendar_status_warns_when_next_year_is_provisional(warehouse_url, capsys):
    code, out, _ = _cli(capsys, "calendar", "status")
    assert code == 0
    this_year = date.today().year
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln[:4].isdigit()}
    assert lines[str(this_year + 1)][1] == days.year_source(this_year + 1)
    warned = [ln for ln in out.splitlines() if ln.startswith("warning:")]
    expected = [y for y in (this_year, this_year + 1) if days.year_source(y) == "provisional"]
    assert [int(w.split("calendar of ")[1][:4]) for w in warned] == expected


def _library_2026_with(extra: list[date]) -> list[tuple[str, str, str]]:
    """The library's 2026 written as a notice, plus fictitious weekdays off."""
    rows = [(d.calendar_date.isoformat(), "holiday", d.holiday_name or "")
            for d in days.library_year(2026) if not d.is_workday and not d.is_weekend]
    rows += [(d.calendar_date.isoformat(), "workday", d.holiday_name or "")
             for d in days.library_year(2026) if d.is_makeup_workday]
    rows += [(d.isoformat(), "holiday", "假想的补充假日") for d in extra]
    return sorted(rows)


def _weekdays(first: date, last: date) -> list[date]:
    out, day = [], first
    while day <= last:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


@pytest.mark.slow
def test_a_provisional_year_flags_its_figures_then_the_import_makes_them_final(
    warehouse_url, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("CEI_EXPORT_DIR", str(tmp_path / "exports"))
    exports = tmp_path / "exports"
    landing = tmp_path / "landing"
    # 2026-11-16 … 2027-01-16: the last night's as-of is 2026-12's final date, and December's
    # deadlines reach into 2027, which no library release knows.
    synthetic.generate(landing, scale=1500, start=date(2026, 11, 16), days=62, defect_rate=0.0)
    code, _, err = _cli(capsys, "run", "--landing", str(landing), "--all")
    assert code == 0, err

    december = json.loads((exports / "assessment_2026-12.json").read_text(encoding="utf-8"))
    november = json.loads((exports / "assessment_2026-11.json").read_text(encoding="utf-8"))
    assert december["status"] == "provisional" and december["calendar_status"] == "provisional"
    assert december["calendar_sources"] == {"2026": "library", "2027": "provisional"}
    assert "provisional calendar of 2027" in december["status_reason"]
    assert date.fromisoformat(december["as_of"][:10]) >= date.fromisoformat(december["final_from"])
    assert (november["status"], november["calendar_status"], november["status_reason"]) == ("final", "official", None)
    with warehouse.connect() as conn:
        flagged = {r[0] for r in conn.execute(
            "select distinct indicator_code from marts.mart_indicator_period"
            " where period = '2026-12' and calendar_status = 'provisional'")}
        assert flagged and flagged <= SLA_CODES
        assert conn.execute("select distinct calendar_status from marts.mart_cei where period = '2026-12'"
                            ).fetchall() == [("provisional",)]
        assert conn.execute("select count(*) from marts.mart_indicator_period where period = '2026-11'"
                            " and calendar_status = 'provisional'").fetchone()[0] == 0
    provisional_csv = (exports / "assessment_2026-12.csv").read_bytes()
    code, out, _ = _cli(capsys, "status")
    assert "warning: the official calendar of 2027 is provisional" in out

    # The notices arrive: 2027 with a fictitious fortnight off in January, and a correction of
    # 2026 that takes 2026-11-16 … 11-27 off (a final period's deadlines move: a revision).
    _write(tmp_path / "2027.csv", [("2027-01-01", "holiday", "元旦")]
           + [(d.isoformat(), "holiday", "假想的假期") for d in _weekdays(date(2027, 1, 4), date(2027, 1, 15))])
    _write(tmp_path / "2026.csv", _library_2026_with(_weekdays(date(2026, 11, 16), date(2026, 11, 27))))
    for year in (2027, 2026):
        code, _, err = _cli(capsys, "calendar", "import", str(tmp_path / f"{year}.csv"))
        assert code == 0, err

    code, out, err = _cli(capsys, "run", "--landing", str(landing), "--date", "2027-01-16")
    assert code == 0, err

    december = json.loads((exports / "assessment_2026-12.json").read_text(encoding="utf-8"))
    assert (december["status"], december["revision"], december["calendar_status"]) == ("final", 0, "official")
    assert december["calendar_sources"] == {"2026": "imported", "2027": "imported"}
    assert (exports / "assessment_2026-12.csv").read_bytes() != provisional_csv  # the deadlines moved
    revision = json.loads((exports / "assessment_2026-11.rev1.json").read_text(encoding="utf-8"))
    assert (revision["status"], revision["revises"]) == ("final", "assessment_2026-11.csv")
    changed = {d["code"] for d in revision["differences"]}
    assert changed & SLA_CODES and changed <= SLA_CODES | INDEX_CODES, changed  # the deadlines, and the index
    with warehouse.connect() as conn:
        assert conn.execute("select count(*) from marts.mart_indicator_period"
                            " where calendar_status = 'provisional'").fetchone()[0] == 0
    code, out, _ = _cli(capsys, "status")
    assert "warning: the official calendar of 2027" not in out
