"""The monthly 12315 report: written by the night for the month it closes, its numbers the marts'
(checked against SQL), looked at in a real browser and read back from its PDF."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest
from builders import PII_SECRET, delivery_dates, platform_on, run_night, scratch_database

from cei import synthetic
from cei.report import pct

DAYS = 95  # 2026-07-01 … 2026-10-03: the night closes July, August and September


class Built(NamedTuple):
    url: str
    reports: Path
    run_id: int


@pytest.fixture(scope="module")
def built(server_url: str, chromium, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """Ninety-five days of deliveries run as one night through every step, the report included."""
    landing, reports = tmp_path_factory.mktemp("report_landing"), tmp_path_factory.mktemp("reports")
    synthetic.generate(landing, scale=2500, days=DAYS)
    with scratch_database(server_url, "cei_report") as url:
        with platform_on(url, CEI_REPORT_DIR=str(reports),
                         CEI_EXPORT_DIR=str(tmp_path_factory.mktemp("report_exports"))):
            run_id = run_night(landing, delivery_dates(landing))
        yield Built(url, reports, run_id)


class Tables(HTMLParser):
    """The report's tables by id: rows of cell texts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def row(table: list[list[str]], first: str) -> list[str]:
    return next(r for r in table if r and r[0] == first)


def test_the_night_reports_the_month_it_closes(built):
    with psycopg.connect(built.url) as conn:
        reported = conn.execute("select period, run_id, status, pdf_name, pdf_problem from meta.monthly_reports"
                                ).fetchall()
    # the months whose last day the night delivers; not June, which the deliveries begin after,
    # nor October, still running at the as-of (10-03)
    months = ["2026-07", "2026-08", "2026-09"]
    assert reported == [(m, built.run_id, "final" if m < "2026-09" else "provisional", f"report_{m}.pdf", None)
                        for m in months]
    assert sorted(p.name for p in built.reports.iterdir()) == sorted(
        f"report_{m}.{suffix}" for m in months for suffix in ("html", "pdf"))


def test_a_later_night_reports_the_months_it_turns_final(built):
    """From the ledger of reports: the night of 10-16 writes September again (final now); the
    night of 07-16 does not write June, which the platform never reported."""
    from cei.report import months_due

    with psycopg.connect(built.url) as conn, conn.transaction(force_rollback=True):
        for night, due in (("2026-10-16", ["2026-09"]), ("2026-07-16", []), ("2026-10-31", ["2026-10"])):
            run_id = conn.execute("insert into meta.pipeline_runs (delivery_dates, as_of) values (%s, %s)"
                                  " returning run_id", ([night], f"{night} 23:59:59+08")).fetchone()[0]
            assert [p.text for p in months_due(conn, run_id)] == due, night


def test_every_sampled_number_is_the_marts(built):
    html = (built.reports / "report_2026-09.html").read_text(encoding="utf-8")
    tables = Tables(html).tables
    month = {"start": "2026-09-01", "end": "2026-10-01"}
    in_month = "registered_at_local >= %(start)s and registered_at_local < %(end)s"
    with psycopg.connect(built.url) as conn:
        def one(query: str) -> object:
            return conn.execute(query, month).fetchone()[0]

        total = one(f"select count(*) from marts.fct_work_orders where {in_month}")
        assert total >= 100  # enough to be a real month, not a thin one
        assert row(tables["volumes"], "合计")[1] == str(total)
        assert f"<li>全省登记工单{total}件，" in html  # the summary's first line
        for kind in ("咨询", "投诉", "举报"):
            assert row(tables["volumes"], kind)[1] == str(one(
                f"select count(*) from marts.fct_work_orders where {in_month} and kind = '{kind}'"))
        channel = tables["channels"][1][0]
        assert tables["channels"][1][1] == str(one(
            f"select count(*) from marts.fct_work_orders where {in_month} and channel = '{channel}'"))
        top = tables["categories"][1]
        assert top[3] == str(one(
            f"select count(*) from marts.fct_work_orders w join marts.dim_category c using (category_code)"
            f" where {in_month} and kind in ('投诉', '举报') and c.category_name = '{top[1]}'"))
        first = tables["enterprises"][1]  # the enterprise, all units together: by USCC, else by name
        which = (f"respondent_uscc = '{first[2]}'" if first[2] != "（未识别）"
                 else f"respondent_uscc is null and respondent_name = '{first[1]}'")
        assert first[4] == str(one(
            f"select sum(complaints) from marts.mart_enterprise_complaints where period = '2026-09' and {which}"))
        assert tables["units"][-1][-1] == str(one("select count(*) from marts.fct_work_orders where is_overdue"))
        fuzhou = row(tables["units"], "福州市")
        assert fuzhou[1] == pct(one(
            "select value from marts.mart_indicator_monthly where unit_code = '350100' and month = '2026-09-01'"
            " and indicator_code = 'satisfaction_rate'"))
        # the tourism paragraph's figure, counted per day in the report, equals the indicator's
        tourism = one("select sum(numerator) from marts.mart_indicator_monthly where month = '2026-09-01'"
                      " and indicator_code = 'tourism_complaints'")
        assert f"本月涉旅投诉 <b>{int(tourism)}</b> 件" in html
        serial = one("select count(*) filter (where serial_flag) from marts.mart_repeat_complainants"
                     " where period = '2026-09'")
        assert re.search(rf"（特殊投诉）的 <b>{serial}</b> 人", html)


def test_returns_not_yet_reported_say_so(built):
    """Returns come in the month after: a unit without a report of the month reads 未报送, never 0."""
    pending_seen = reported_seen = 0
    with psycopg.connect(built.url) as conn:
        for month in ("2026-08", "2026-09"):
            html = (built.reports / f"report_{month}.html").read_text(encoding="utf-8")
            table = Tables(html).tables["odr"]
            items = table[0].index("无理由退货件数")
            reported = dict(conn.execute(
                "select u.unit_name, sum(r.return_items) from marts.fct_return_reports r join marts.dim_unit u"
                " using (unit_code) where to_char(r.report_month, 'YYYY-MM') = %s group by 1", (month,)).fetchall())
            units = table[1:-1]
            for unit in units:
                assert unit[items] == (f"{reported[unit[0]]:,.0f}" if unit[0] in reported else "未报送"), (month, unit)
            pending = len(units) - len(reported)
            assert ('id="returns-pending"' in html) == (pending > 0), month
            assert table[-1][items] == (f"{sum(reported.values()):,.0f}" if reported else "未报送")
            pending_seen, reported_seen = pending_seen + pending, reported_seen + len(reported)
    assert pending_seen and reported_seen  # both cases met, or the test says nothing


def test_the_report_as_a_person_sees_it(built, chromium):
    html_file = built.reports / "report_2026-09.html"
    html = html_file.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)  # nothing to fetch

    def check(page) -> None:
        page.get_by_role("heading", name="一、总体情况").wait_for()
        charts = page.locator("svg.chart")
        assert charts.count() == 3  # the trend, the categories, the tourism days
        for i in range(3):
            box = charts.nth(i).bounding_box()
            assert box and box["width"] > 500 and box["height"] > 150
        # the charts' words are text the page draws in a CJK font, not boxes
        assert "投诉" in charts.nth(0).text_content() and "本月" in charts.nth(1).text_content()
        assert page.evaluate("document.fonts.check('12px \"Noto Sans CJK SC\"', '福建')")

    visit = chromium.visit(html_file.as_uri(), "report-2026-09.png", check, full_page=True)
    assert visit.remote == []
    for words in ("福建省12315消费者诉求数据分析报告（2026年9月）", "摘要", "二、消费热点", "三、被投诉较多的经营者",
                  "四、旅游投诉与节假日", "五、各地办理时效与满意率", "平潭综合实验区", "七、重复投诉", "初步数据"):
        assert words in visit.text, words

    # the PDF the night printed, read back
    pdf = built.reports / "report_2026-09.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60,
                          check=True).stdout
    pages = text.count("\f")
    assert 3 <= pages <= 8, pages
    assert "一、总体情况" in text and "七、重复投诉" in text and "福州市" in text
    (chromium.artifacts / pdf.name).write_bytes(pdf.read_bytes())


def test_a_thin_month_says_so_instead_of_drawing(built, tmp_path):
    """June holds only the stragglers registered before the deliveries begin: numbers, no charts."""
    out = _cei("report", "--period", "2026-06", "--out", str(tmp_path), url=built.url)
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "report_2026-06.html").read_text(encoding="utf-8")
    assert 'id="thin"' in html and "数据不足以分析" in html
    assert "<svg" not in html and 'id="volumes"' in html


@pytest.mark.parametrize(("period", "message"), [
    ("2026Q3", "the report is monthly: give a month (YYYY-MM), not quarter 2026Q3"),
    ("2026-13", "bad period '2026-13'"),
    ("2026-11", "month 2026-11 starts after the as-of 2026-10-03 23:59:59"),
])
def test_a_bad_period_is_one_line(built, tmp_path, period, message):
    out = _cei("report", "--period", period, "--out", str(tmp_path), url=built.url)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert not list(tmp_path.iterdir())


def _cei(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CEI_DATABASE_URL": url, "CEI_PII_SECRET": PII_SECRET}
    return subprocess.run([sys.executable, "-m", "cei.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
