"""The monthly 12315 data-analysis report (12315数据分析报告): one self-contained HTML file
(charts inline as SVG, no external asset) and its PDF, from the published marts only.

`cei report --period 2026-07` writes `report_2026-07.html` and `.pdf` into CEI_REPORT_DIR; the
nightly run writes the report of each month it closes (whose last day it delivers), provisional,
and writes it again, final, on the night the month turns final (`months_due`); a rerun of either
night writes it again. meta.monthly_reports keeps the latest writing of each month: from
which run and as-of, the HTML's sha256, and why a PDF could not be made (no Chromium on the
machine), which never fails a night: the HTML is the report, the PDF its printed form.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import jinja2
import psycopg
from psycopg import pq

from cei import settings as cfg
from cei.errors import CeiError
from cei.export.exporter import platform_version
from cei.export.periods import FINAL_AFTER_DAYS, BadPeriod, Period, parse_period
from cei.export.provenance import as_of_run, calendar_basis
from cei.report import charts, pdf
from cei.report.figures import ODR_CODES, RETURN_CODES, RISING_MIN, UNIT_CODES, Change, ReportFigures, read

log = logging.getLogger(__name__)
TREND_MIN_MONTHS = 3  # a trend line over fewer months says nothing: the tables hold them

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("cei.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, never prints blank
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class ReportFiles:
    period: str
    html: Path
    pdf: Path | None
    pdf_problem: str | None  # why there is no PDF

    @property
    def summary(self) -> str:
        made = f"{self.html.name}" + (f", {self.pdf.name}" if self.pdf else f" (no PDF: {self.pdf_problem})")
        return f"report {self.period}: wrote {made} in {self.html.parent}"


# -- formatting, as the division writes figures ----------------------------------------------


def pct(x: float | Decimal | None) -> str:
    return "—" if x is None else f"{float(x) * 100:.1f}%"


def rate(x: float | None) -> str:
    """A change: ↑12.3% / ↓4.0% / 持平; — where there is nothing to compare with."""
    if x is None:
        return "—"
    if abs(x) < 0.0005:
        return "持平"
    return f"{'↑' if x > 0 else '↓'}{abs(x) * 100:.1f}%"


def num(x: int | None) -> str:
    return "无数据" if x is None else str(x)


def yuan(x: Decimal | float | None) -> str:
    return "—" if x is None else f"{float(x):,.2f}"


def change_text(c: Change) -> str:
    """较上月（1621件）增长1.9%，上年同月无数据 — the sentence the tables' 环比 and 同比 back."""
    parts = []
    for name, before, r in (("上月", c.previous, c.month_on_month), ("上年同月", c.last_year, c.year_on_year)):
        if before is None:
            parts.append(f"{name}无数据")
        elif r is None:
            parts.append(f"{name}为{before}件")
        elif rate(r) == "持平":
            parts.append(f"与{name}（{before}件）持平")
        else:
            parts.append(f"较{name}（{before}件）{'增长' if r > 0 else '下降'}{abs(r) * 100:.1f}%")
    return "，".join(parts)


def render(f: ReportFigures, *, as_of: datetime, status: str, status_reason: str | None, run_id: int,
           generated_at: datetime) -> str:
    """The report's HTML."""
    p = f.period
    rest = [d for d in f.tourism if not d.holiday]
    holidays = [d for d in f.tourism if d.holiday]

    def mean(days: list) -> str:
        return f"{sum(d.complaints for d in days) / len(days):.1f}" if days else "—"

    tourism = {
        "total": sum(d.complaints for d in f.tourism),
        "holiday_days": len(holidays),
        "holidays": "、".join(dict.fromkeys(d.holiday for d in holidays)),
        "holiday_complaints": sum(d.complaints for d in holidays),
        "holiday_mean": mean(holidays), "other_days": len(rest), "other_mean": mean(rest),
        "rest_mean": mean([d for d in f.tourism if not d.is_workday]),
        "work_mean": mean([d for d in f.tourism if d.is_workday]),
    }
    drawn = not f.thin  # a thin month gets numbers, not charts drawn on almost nothing
    figure_charts = {
        "trend": charts.trend(f.trend_months, f.trend, "近12个月登记工单（件）")
        if drawn and len(f.trend_months) >= TREND_MIN_MONTHS else None,
        "categories": charts.bars([c.name for c in f.categories], [c.current for c in f.categories],
                                  [c.previous for c in f.categories], "投诉举报居前的类别（件）", "本月", "上月")
        if drawn and f.categories else None,
        "tourism": charts.tourism_days(f.tourism, "每日涉旅投诉（件，阴影为法定节假日）")
        if drawn and tourism["total"] else None,
    }

    highlights = [] if f.thin else _highlights(f)

    def value(code: str, x: Decimal | None) -> str:  # as dim_indicator says the indicator is measured
        unit = f.value_units[code]
        if unit == "yuan":
            return yuan(x)
        if unit == "ratio":
            return pct(x)
        return "—" if x is None else f"{x:,.0f}"

    return _TEMPLATES.get_template("monthly.html.j2").render(
        title=f"福建省12315消费者诉求数据分析报告（{p.label}）",
        f=f, charts=figure_charts, tourism=tourism, highlights=highlights, unit_codes=UNIT_CODES,
        odr_codes=ODR_CODES, return_codes=RETURN_CODES,
        returns_pending=sum(not u.returns_reported for u in f.units),
        rewritten_on=f"{p.final_from:%Y-%m-%d}" if p.status_at(as_of.date()) == "provisional" else None,
        overdue={"open": sum(u.open_cases for u in f.units), "overdue": sum(u.overdue_open for u in f.units)},
        as_of=f"{as_of:%Y-%m-%d %H:%M}", status_label="正式数据" if status == "final" else "初步数据",
        status_reason=status_reason, rising_min=RISING_MIN, run_id=run_id, version=platform_version(),
        generated_at=f"{generated_at:%Y-%m-%d %H:%M}",
        pct=pct, rate=rate, num=num, yuan=yuan, value=value, change_text=change_text,
    )


def _highlights(f: ReportFigures) -> list[str]:
    """The few sentences a director reads first, each from a section below."""
    out = [f"全省登记工单{f.total.current}件，{change_text(f.total)}。"]
    if f.categories:
        top = f.categories[0]
        out.append(f"投诉举报最多的类别是{top.name}（{top.current}件，占{pct(top.share)}）"
                   + (f"；增加最多的是{f.rising[0].name}（{f.rising[0].previous}→{f.rising[0].current}件）。"
                      if f.rising else "。"))
    if f.enterprises:
        e = f.enterprises[0]
        out.append(f"被投诉最多的经营者是{e.name}（投诉{e.complaints}件、举报{e.reports}件）。")
    rates = "，".join(f"{f.indicator_names[code]}{pct(f.province[code])}"
                      for code in ("satisfaction_rate", "complaint_accept_ontime_rate", "complaint_close_ontime_rate")
                      if f.province.get(code) is not None)
    overdue = max(f.units, key=lambda u: u.overdue_open, default=None)
    out.append((f"全省{rates}；" if rates else "") + f"超期未办结工单{sum(u.overdue_open for u in f.units)}件"
               + (f"，最多的是{overdue.unit_name}（{overdue.overdue_open}件）。" if overdue and overdue.overdue_open
                  else "。"))
    if f.repeat:
        out.append(f"重复投诉的消费者{f.repeat.complainants}人，其中疑似职业索赔{f.repeat.serial}人。")
    return out


def write_report(conn: psycopg.Connection, period: str, out_dir: Path, *, run_id: int | None = None,
                 now: datetime | None = None) -> ReportFiles:
    """Write the report of month `period` (YYYY-MM) into `out_dir` and record it; its PDF when
    Chromium is there. A bad, non-month or future period raises CeiError and writes nothing."""
    try:
        p = parse_period(period)
    except BadPeriod as exc:
        raise CeiError(f"{exc} (the report is monthly: YYYY-MM)") from None
    if p.type != "month":
        raise CeiError(f"the report is monthly: give a month (YYYY-MM), not {p.type} {p}")
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise CeiError("write_report needs a connection without an open transaction")
    now = now or datetime.now(cfg.LOCAL_TZ)
    with conn.transaction():
        conn.execute("set transaction isolation level repeatable read")  # one snapshot of the marts
        asof = as_of_run(conn, run_id)
        if p.start > asof.date:
            raise CeiError(f"month {p} starts after the as-of {asof.as_of:%Y-%m-%d %H:%M:%S} of the figures:"
                           " nothing to report yet")
        figures = read(conn, p)
        calendar = calendar_basis(conn, p)
    if calendar.provisional:
        years = "、".join(str(y) for y, source in calendar.sources.items() if source == "provisional")
        status_reason = f"{years}年的国务院节假日安排尚未导入，相关法定时限按暂定日历计算"
    elif p.status_at(asof.date) == "provisional":
        status_reason = (f"统计期结束未满{FINAL_AFTER_DAYS}天，迟到的数据仍可能改变数字；"
                         f"{p.final_from:%Y-%m-%d}起为正式数据")
    else:
        status_reason = None
    status = "provisional" if status_reason else "final"
    html = render(figures, as_of=asof.as_of, status=status, status_reason=status_reason, run_id=asof.run_id,
                  generated_at=now)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"report_{p}.html"
    tmp = html_path.with_name(f".{html_path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(html_path)
    pdf_path, problem = pdf.print_to_pdf(html_path, out_dir / f"report_{p}.pdf")
    with conn.transaction():
        conn.execute(
            "insert into meta.monthly_reports (period, run_id, as_of, status, html_name, html_sha256, pdf_name,"
            " pdf_problem, generated_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (period) do update set run_id = excluded.run_id, as_of = excluded.as_of,"
            " status = excluded.status, html_name = excluded.html_name, html_sha256 = excluded.html_sha256,"
            " pdf_name = excluded.pdf_name, pdf_problem = excluded.pdf_problem, generated_at = excluded.generated_at",
            (p.text, asof.run_id, asof.as_of, status, html_path.name, hashlib.sha256(html.encode()).hexdigest(),
             pdf_path.name if pdf_path else None, problem, now),
        )
    result = ReportFiles(p.text, html_path, pdf_path, problem)
    log.info("%s", result.summary)
    return result


def months_due(conn: psycopg.Connection, run_id: int) -> list[Period]:
    """The months run `run_id` reports (`due_months`)."""
    (dates,) = conn.execute("select delivery_dates from meta.pipeline_runs where run_id = %s", (run_id,)).fetchone()
    reported = {period for (period,) in conn.execute("select period from meta.monthly_reports")}
    return [parse_period(m) for m in due_months(dates, reported)]


def due_months(delivery_dates: list[date], reported: set[str]) -> list[str]:
    """The months (YYYY-MM) a night delivering these dates reports: each month whose last day it
    delivers (the first, provisional writing), and each month already reported or closed by it
    whose figures turn final on a day it delivers (the 16th day after it ends: by then late
    updates and the month's returns, which enterprises send in the month after, are in). A month
    the platform started in the middle of is reported on request only (`cei report`)."""
    closing, turning_final = set(), set()
    for d in delivery_dates:
        if (month := parse_period(f"{d:%Y-%m}")).end == d:
            closing.add(month.text)
        if (ended := parse_period(f"{d - timedelta(days=FINAL_AFTER_DAYS):%Y-%m}")).final_from == d:
            turning_final.add(ended.text)
    return sorted(closing | (turning_final & (reported | closing)))
