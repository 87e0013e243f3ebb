"""Every number of the monthly report, read from the published marts (nothing else), in one
repeatable-read snapshot taken by the caller.

Volumes count the work orders registered in a month (fct_work_orders, latest state); hot spots
count complaints and reports (投诉、举报), not consultations; the units' rates, ODR and returns
are the indicators of mart_indicator_monthly (the province's rate is the units' numerators over
their denominators); overdue open cases are counted at the marts' as-of, not at the month's end;
enterprises and repeat complainants are mart_enterprise_complaints and mart_repeat_complainants
of the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from cei.export.periods import Period, month

KINDS = ("咨询", "投诉", "举报")
HOT_SPOT_KINDS = ("投诉", "举报")  # what the hot spots count: the consumer's grievance, not a question
TOP = 10  # rows of the top lists
RISING_MIN = 5  # a category enters the fastest-rising list with at least this many this month
THIN_MONTH = 30  # fewer work orders in the month: too few to analyse; the report says so
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Change:
    """A count this month, last month (环比) and in the same month last year (同比)."""

    label: str
    current: int
    previous: int | None  # None: no data for that month in the marts
    last_year: int | None

    @staticmethod
    def _rate(now: int, before: int | None) -> float | None:
        return None if not before else (now - before) / before

    @property
    def month_on_month(self) -> float | None:
        return self._rate(self.current, self.previous)

    @property
    def year_on_year(self) -> float | None:
        return self._rate(self.current, self.last_year)


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    level1_name: str
    current: int
    previous: int
    share: float  # of this month's complaints and reports

    @property
    def growth(self) -> float | None:
        return None if not self.previous else (self.current - self.previous) / self.previous


@dataclass(frozen=True)
class Enterprise:
    uscc: str | None  # None: named only (the work orders carried no valid USCC)
    name: str
    units: str  # the units it drew complaints in, in their order
    complaints: int
    reports: int
    recovered_loss: Decimal


@dataclass(frozen=True)
class TourismDay:
    day: date
    complaints: int
    holiday: str | None  # the statutory holiday it belongs to
    is_workday: bool


@dataclass(frozen=True)
class UnitRow:
    unit_code: str
    unit_name: str
    values: dict[str, Decimal | None]  # indicator code → value of the month (None: no denominator)
    open_cases: int  # at the marts' as-of
    overdue_open: int  # open past a statutory deadline at the marts' as-of
    returns_reported: bool  # the marts hold a return report of the month from this unit


@dataclass(frozen=True)
class Repeat:
    """mart_repeat_complainants of the month, which lists repeat complainants only."""

    complainants: int  # listed: several work orders in the month, or serial
    serial: int  # flagged serial by the bureau's rule, in a window ending in the month
    work_orders: int  # theirs, registered in the month
    complaints: int


@dataclass
class ReportFigures:
    period: Period
    trend_months: list[date]  # the 12 months up to the period, from the first with data
    trend: dict[str, list[int]]  # kind → work orders per trend month
    total: Change
    by_kind: list[Change]
    by_channel: list[Change]
    hot_spot_total: int
    unmapped: int  # complaints and reports whose category text has no code
    categories: list[Category]
    rising: list[Category]
    enterprises: list[Enterprise]
    tourism: list[TourismDay]
    units: list[UnitRow]
    province: dict[str, Decimal | None]  # indicator code → the province's value
    indicator_names: dict[str, str]
    value_units: dict[str, str]  # indicator code → dim_indicator.value_unit: ratio, count or yuan
    definitions: list[tuple[str, str, str]]  # (name, numerator, denominator) of the indicators shown
    repeat: Repeat | None

    @property
    def thin(self) -> str | None:
        """Why the month is too thin to analyse, or None."""
        if self.total.current < THIN_MONTH:
            return (f"本月登记工单仅{self.total.current}件（少于{THIN_MONTH}件），数据不足以分析，"
                    "以下各节只列数字、不作图表")
        return None


UNIT_CODES = ("satisfaction_rate", "complaint_accept_ontime_rate", "complaint_close_ontime_rate",
              "report_verify_ontime_rate", "mediation_success_rate")
ODR_CODES = ("odr_share", "odr_settle_rate", "odr_ontime_rate", "odr_active_enterprises")
RETURN_CODES = ("return_enterprises", "return_items", "return_refund_yuan")  # reported in the month after


def _shift(p: Period, months: int) -> Period:
    index = p.start.year * 12 + p.start.month - 1 + months
    return month(index // 12, index % 12 + 1)


def read(conn: psycopg.Connection, p: Period) -> ReportFigures:
    previous, last_year = _shift(p, -1), _shift(p, -12)
    trend_months = [_shift(p, k).start for k in range(-11, 1)]
    volumes = conn.execute(
        "select cast(date_trunc('month', registered_at_local) as date), kind, channel, count(*)"
        " from marts.fct_work_orders where registered_at_local >= %s and registered_at_local < %s"
        " group by 1, 2, 3", (last_year.start, p.end + ONE_DAY),
    ).fetchall()
    present = {m for m, *_ in volumes}
    # the trend starts where the marts' data does, not with months of zeros before it
    trend_months = [m for m in trend_months if present and m >= min(present)]

    def count(m: date, kind: str | None = None, channel: str | None = None) -> int | None:
        if m not in present:
            return None
        return sum(n for mm, k, c, n in volumes if mm == m and kind in (None, k) and channel in (None, c))

    def change(label: str, **which: str) -> Change:
        return Change(label, count(p.start, **which) or 0, count(previous.start, **which),
                      count(last_year.start, **which))

    channels = sorted({c for m, _, c, _ in volumes if m == p.start}, key=lambda c: -(count(p.start, channel=c) or 0))
    figures = ReportFigures(
        period=p,
        trend_months=trend_months,
        trend={k: [count(m, kind=k) or 0 for m in trend_months] for k in KINDS},
        total=change("合计"),
        by_kind=[change(k, kind=k) for k in KINDS],
        by_channel=[change(c or "（未填）", channel=c) for c in channels],
        hot_spot_total=0, unmapped=0, categories=[], rising=[], enterprises=[], tourism=[], units=[],
        province={}, indicator_names={}, value_units={}, definitions=[], repeat=None,
    )
    _read_categories(conn, figures, previous)
    figures.enterprises = _enterprises(conn, p)
    figures.tourism = _tourism(conn, p)
    _read_units(conn, figures)
    figures.repeat = _repeat(conn, p)
    return figures


def _read_categories(conn: psycopg.Connection, f: ReportFigures, previous: Period) -> None:
    rows = conn.execute(
        "select w.category_code, c.category_name, c.category_level1_name,"
        " count(*) filter (where w.registered_at_local >= %(start)s),"
        " count(*) filter (where w.registered_at_local < %(start)s)"
        " from marts.fct_work_orders w left join marts.dim_category c on c.category_code = w.category_code"
        " where w.kind = any(%(kinds)s) and w.registered_at_local >= %(prev)s and w.registered_at_local < %(end)s"
        " group by 1, 2, 3",
        {"start": f.period.start, "prev": previous.start, "end": f.period.end + ONE_DAY,
         "kinds": list(HOT_SPOT_KINDS)},
    ).fetchall()
    f.hot_spot_total = sum(r[3] for r in rows)
    f.unmapped = sum(r[3] for r in rows if r[0] is None)
    total = f.hot_spot_total or 1
    mapped = [Category(code, name, level1, now, before, now / total)
              for code, name, level1, now, before in rows if code is not None]
    f.categories = sorted(mapped, key=lambda c: (-c.current, c.code))[:TOP]
    rising = [c for c in mapped if c.current >= RISING_MIN and c.current > c.previous]
    f.rising = sorted(rising, key=lambda c: (-(c.current - c.previous), c.code))[:5]


def _enterprises(conn: psycopg.Connection, p: Period) -> list[Enterprise]:
    rows = conn.execute(
        "select e.respondent_uscc,"
        " (array_agg(e.respondent_name order by e.complaints desc, e.respondent_name))[1],"
        " string_agg(e.unit_name, '、' order by u.sort_order), sum(e.complaints), sum(e.reports),"
        " sum(e.recovered_loss)"
        " from marts.mart_enterprise_complaints e join marts.dim_unit u on u.unit_code = e.unit_code"
        " where e.period = %s group by e.identified_by, e.respondent_uscc,"
        " case when e.respondent_uscc is null then e.respondent_name end"
        " order by 4 desc, 5 desc, 2 limit %s", (p.text, TOP),
    ).fetchall()
    return [Enterprise(*r) for r in rows]


def _tourism(conn: psycopg.Connection, p: Period) -> list[TourismDay]:
    rows = conn.execute(
        # the holiday's name on its days off only (dim_date also names the make-up workdays)
        "select d.date_day, count(w.work_order_id), case when d.is_public_holiday then d.holiday_name end,"
        " d.is_workday"
        " from marts.dim_date d left join marts.fct_work_orders w"
        " on cast(w.registered_at_local as date) = d.date_day and w.kind = '投诉' and w.is_tourism"
        " where d.date_day between %s and %s group by 1, 3, 4 order by 1", (p.start, p.end),
    ).fetchall()
    return [TourismDay(day, n, holiday if holiday else None, workday) for day, n, holiday, workday in rows]


def _read_units(conn: psycopg.Connection, f: ReportFigures) -> None:
    codes = list(UNIT_CODES + ODR_CODES + RETURN_CODES + ("tourism_complaints",))
    indicators = conn.execute(
        "select indicator_code, indicator_name, numerator_definition, denominator_definition, value_unit, measure"
        " from marts.dim_indicator where indicator_code = any(%s) order by sort_order", (codes,),
    ).fetchall()
    f.indicator_names = {code: name for code, name, *_ in indicators}
    f.definitions = [(name, num, den) for _, name, num, den, _, _ in indicators]
    f.value_units = {code: unit for code, *_, unit, _ in indicators}
    values = conn.execute(
        "select unit_code, indicator_code, value, numerator, denominator from marts.mart_indicator_monthly"
        " where month = %s and indicator_code = any(%s)", (f.period.start, codes),
    ).fetchall()
    cases = dict(((u, (o, d)) for u, o, d in conn.execute(
        "select unit_code, count(*) filter (where is_open), count(*) filter (where is_overdue)"
        " from marts.fct_work_orders group by 1").fetchall()))
    returns_from = {u for (u,) in conn.execute(
        "select distinct unit_code from marts.fct_return_reports where date_trunc('month', report_month) = %s",
        (f.period.start,))}
    measures = {code: measure for code, *_, measure in indicators}
    for code in codes:
        rows = [(num, den) for _, c, _, num, den in values if c == code]
        if measures.get(code) == "rate":
            num, den = sum(n or 0 for n, _ in rows), sum(d or 0 for _, d in rows)
            f.province[code] = num / den if den else None
        else:  # counts and sums add up (a distinct count of enterprises adds up across units too)
            f.province[code] = sum(n or 0 for n, _ in rows) if rows else None
    for unit_code, unit_name in conn.execute("select unit_code, unit_name from marts.dim_unit order by sort_order"):
        open_cases, overdue = cases.get(unit_code, (0, 0))
        f.units.append(UnitRow(unit_code, unit_name, {c: v for u, c, v, _, _ in values if u == unit_code},
                               open_cases, overdue, unit_code in returns_from))


def _repeat(conn: psycopg.Connection, p: Period) -> Repeat | None:
    row = conn.execute(
        "select count(*), count(*) filter (where serial_flag), coalesce(sum(work_orders), 0),"
        " coalesce(sum(complaints), 0) from marts.mart_repeat_complainants where period = %s", (p.text,),
    ).fetchone()
    return Repeat(*row) if row[0] else None
