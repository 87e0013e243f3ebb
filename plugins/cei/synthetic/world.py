"""What one generation shares: the `World` (seeded random streams, regions and units, enterprises and
callers, the files being filled), the records passed between the modules, and the calendar and
formatting helpers every feed simulation draws on.

The business model draws from `World.rng` only; cosmetics, defects and noise have streams of their own,
so that neither the look of the files nor the defect rate shifts the business model under a seed.
`Row` and `File` are what the simulations fill, `Artifact` a file as written; the defect injectors,
the writers and the ground truth all work on these. The formatting helpers render the timestamp, date
and number forms feeds.md allows.
"""

from __future__ import annotations

import csv
import itertools
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from faker import Faker
from stdnum.cn import uscc as stdnum_uscc

from cei.calendar import days as official_days
from cei.settings import REGIONS_CSV

_T = TypeVar("_T")

# ------------------------------------------------------------------------------------------------
# Reference data and realism tables

PINGTAN = "350128"  # assessed as its own unit (feeds.md)
# Rough weight of each prefecture: resident population (10k) × spending intensity.
_CITY_WEIGHT = {"350100": 805, "350200": 720, "350300": 290, "350400": 220, "350500": 980,
                "350600": 455, "350700": 235, "350800": 245, "350900": 285}
_PINGTAN_WEIGHT = 35
_MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                    "155", "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185",
                    "186", "187", "188", "189", "191", "198", "199")

# Trade names (字号) are two auspicious characters: 鑫泰, 恒丰, 闽榕 …
_TRADE_NAME_CHARS = "鑫泰盛源达恒丰宏福瑞嘉润兴隆祥安德信诚鸿锦闽榕鹭海峰宇新美佳百汇万金华永利康明辉天正荣"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
# Office hours 08:30–12:00, 14:00–17:30; online submissions peak in the evening.
_HOUR_WEIGHTS = (2, 1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 8, 8, 9, 9, 9, 8, 8, 10, 12, 12, 9, 5)

# Timestamp forms of feeds.md: 2026-03-15 09:12:33 · 2026/03/15 09:12:33 · 2026-03-15 09:12 · 2026/3/5 9:05
TS_FORMATS = ("dash_s", "slash_s", "dash_m", "slash_short")


# ------------------------------------------------------------------------------------------------
# Calendar, numbers, text


@cache
def is_workday(day: date) -> bool:
    """The official calendar: the library's schedules, provisional statutory holidays beyond them."""
    return official_days.is_workday(day)


def workday(day: date, n: int) -> date:
    """The n-th working day after `day` (n = 0: `day` itself when it is one, else the next)."""
    while not is_workday(day):
        day += timedelta(days=1)
    for _ in range(n):
        day += timedelta(days=1)
        while not is_workday(day):
            day += timedelta(days=1)
    return day


def office_time(rng: random.Random, day: date) -> datetime:
    minute = (8 * 60 + 30 if rng.random() < 0.55 else 14 * 60) + rng.randrange(210)
    return datetime.combine(day, time(minute // 60, minute % 60, rng.randrange(60)))


def any_time(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)))


def after(rng: random.Random, earlier: datetime, t: datetime) -> datetime:
    """`t`, but at least two minutes after `earlier`: dropping seconds must never invert the order."""
    return max(t, earlier + timedelta(minutes=rng.randint(2, 90)))


def pick(rng: random.Random, table: Sequence[tuple[_T, float]]) -> _T:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def amount(rng: random.Random, median: float, sigma: float) -> Decimal:
    return Decimal(f"{min(rng.lognormvariate(math.log(median), sigma), 500_000):.2f}")


def fmt_ts(t: datetime, form: str) -> str:
    if form == "dash_s":
        return f"{t:%Y-%m-%d %H:%M:%S}"
    if form == "slash_s":
        return f"{t:%Y/%m/%d %H:%M:%S}"
    if form == "dash_m":
        return f"{t:%Y-%m-%d %H:%M}"
    return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}"


def fmt_date(d: date, form: str) -> str:
    return f"{d:%Y-%m-%d}" if form == "dash" else f"{d.year}/{d.month}/{d.day}"


def fmt_iso(t: datetime, fraction: bool) -> str:
    return f"{t:%Y-%m-%dT%H:%M:%S}{'.000' if fraction else ''}+08:00"


def fmt_amount(rng: random.Random, value: Decimal | None) -> str:
    if value is None:
        return ""
    return rng.choice((f"{value:.2f}", f"{value:,.2f}", f" {value:,.2f} ", f"{value.normalize():f}"))


def pad(rng: random.Random, text: str) -> str:
    """Now and then surrounding spaces, half- or full-width (the reader trims them)."""
    if text and rng.random() < 0.03:
        return rng.choice((" ", "  ", "\u3000")) + text + rng.choice(("", " "))
    return text


def trade_name(rng: random.Random) -> str:
    return "".join(rng.sample(_TRADE_NAME_CHARS, 2))


def json_number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def make_uscc(rng: random.Random, region: str) -> str:
    """18 characters: authority + type, the registering region, an organisation code, the check digit."""
    head = rng.choices(("91", "92", "93", "52"), weights=(80, 15, 2, 3))[0]
    if rng.random() < 0.7:  # codes issued since 2015 start with MA
        org = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(7))
    else:
        org = "".join(rng.choice("0123456789") for _ in range(8)) + rng.choice("0123456789X")
    body = head + region + org
    return body + stdnum_uscc.calc_check_digit(body)


# ------------------------------------------------------------------------------------------------
# The world: shared state of one generation


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    city_code: str
    city_name: str

    @property
    def unit(self) -> str:
        return PINGTAN if self.code == PINGTAN else self.city_code


@dataclass(frozen=True)
class Enterprise:
    name: str
    uscc: str
    region: str


@dataclass(frozen=True)
class UnitProfile:
    """How one assessment unit differs from the others."""

    late_accept: float  # share of complaints accepted after more than 7 working days
    mediation: float  # share of accepted complaints mediated successfully
    satisfaction: float  # shift of the 满意 share of callbacks
    report_offset: int  # day of the following month its returns report usually arrives
    fail_shift: float  # shift of its inspection fail rate


@dataclass(frozen=True)
class Style:
    """How one exported file looks; every variant is valid input."""

    encoding: str = "utf-8"
    newline: str = "\n"
    quote_all: bool = False
    ts: str = "dash_s"  # timestamp form, see fmt_ts
    date: str = "dash"  # date form, see fmt_date
    fraction: bool = False  # JSONL: fractional seconds
    ascii_json: bool = False  # JSONL: \\u escapes instead of UTF-8
    extra_keys: bool = False  # JSONL: keys the feed does not know
    index_col: bool = False  # XLSX: a leading 序号 column
    filler_row: bool = False  # XLSX: a 填报单位 line between the title and the header
    month_cell: str = "dash"  # XLSX 报送月份: dash (2026-07), cn (2026年7月) or date (an Excel date)
    region_number: bool = False  # XLSX: region codes typed as numbers


@dataclass(eq=False)
class Row:
    """One record as delivered, with what the generator knows about it."""

    values: dict[str, Any]  # source column / key → raw value exactly as written
    model: dict[str, Any]  # source column / key → the typed value it stands for
    key: tuple[Any, ...]  # business key
    rank: datetime | None  # newest-wins order within the key (None: delivery order decides)
    state: dict[str, Any]  # what the latest-state summary counts
    ident: int  # equal only for copies: equal typed values, i.e. exact duplicates
    ts: str = "dash_s"  # timestamp form used in this row
    code: str | None = None  # injected defect: a quarantine reason, or "<code>:<column>" (a warning)
    shape: int = 0  # CSV: +1 a stray field, -1 a lost one (bad_row_shape)
    line: str | None = None  # JSONL: the raw line written instead of `values` (bad_json)


@dataclass(eq=False)
class File:
    feed: str
    day: date
    name: str
    style: Style
    header: tuple[str, ...] = ()
    title: str = ""  # XLSX title row
    note: str = ""  # XLSX: the 填报单位 line some units put under the title
    unit: str = ""  # returns: the reporting unit
    rows: list[Row] = field(default_factory=list)


@dataclass(eq=False)
class Artifact:
    """A file as written, with what the ingestion must make of it."""

    feed: str
    day: date
    name: str
    data: bytes
    rows: list[Row] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)  # source row of each of `rows`
    defect: str | None = None  # file defect: start of the rejection reason
    ignore: str | None = None  # not a feed file: start of the ignore reason


class World:
    def __init__(self, seed: int, start: date, days: int, scale: int, versions_until: date | None) -> None:
        self.scale = scale
        self.rng = random.Random(seed)  # the business model
        self.look = random.Random(f"{seed}:look")  # cosmetics: formats, spaces, encodings
        self.defects = random.Random(f"{seed}:defects")
        self.noise = random.Random(f"{seed}:noise")
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.days = [start + timedelta(days=i) for i in range(days)]
        self.end = start + timedelta(days=days)
        self.versions_end = self.end if versions_until is None else versions_until + timedelta(days=1)
        self.regions = _read_regions()
        weights = [_region_weight(r, self.regions) for r in self.regions]
        self.region_cum = list(itertools.accumulate(weights))
        self.units = sorted({r.unit for r in self.regions})
        self.unit_of = {r.code: r.unit for r in self.regions} | {u: u for u in self.units}
        self.unit_regions = {u: ([r for r in self.regions if r.unit == u],
                                 [wt for r, wt in zip(self.regions, weights, strict=True) if r.unit == u])
                             for u in self.units}
        self.unit_names = {r.city_code: r.city_name for r in self.regions} | {PINGTAN: "平潭综合实验区"}
        self.profiles = {u: self._profile() for u in self.units}
        self.files: dict[tuple[str, date, str], File] = {}
        self.idents = itertools.count(1)
        self.usccs: set[str] = set()
        self.pools: dict[tuple[str, str], list[Enterprise]] = {}
        self.callers: list[tuple[str, str]] = []
        # Serial complainants (特殊投诉 / 职业索赔): a few callers who file about one complaint in
        # five days each, against whichever enterprise, so that mart_repeat_complainants flags
        # someone. Their own stream: every other draw, and so every other figure, stays as it was.
        self.serial = random.Random(f"{seed}:serial")
        serial_fake = Faker("zh_CN")
        serial_fake.seed_instance(f"{seed}:serial")
        self.serial_callers = [(serial_fake.name(), self.serial.choice(_MOBILE_PREFIXES)
                                + f"{self.serial.randrange(10**8):08d}")
                               for _ in range(max(1, min(20, scale // 5000)))]
        complaints_a_day = 0.55 * scale / max(days, 1)  # 投诉 are 55 % of work orders
        self.serial_share = min(0.5, 0.2 * len(self.serial_callers) / max(complaints_a_day, 1e-9))

    def _profile(self) -> UnitProfile:
        rng = self.rng
        return UnitProfile(late_accept=rng.uniform(0.02, 0.12), mediation=rng.uniform(0.48, 0.72),
                           satisfaction=rng.uniform(-0.08, 0.06), report_offset=rng.randint(2, 8),
                           fail_shift=rng.uniform(-0.05, 0.05))

    def region(self) -> Region:
        return self.rng.choices(self.regions, cum_weights=self.region_cum)[0]

    def region_in(self, unit: str) -> Region:
        inside, weights = self.unit_regions[unit]
        return self.rng.choices(inside, weights=weights)[0]

    def uscc(self, region: str) -> str:
        while (code := make_uscc(self.rng, region)) in self.usccs:
            pass
        self.usccs.add(code)
        return code

    def enterprise(self, unit: str, suffix: str) -> Enterprise:
        """A respondent: often one already known in that unit and trade (repeat respondents exist)."""
        pool = self.pools.setdefault((unit, suffix), [])
        if pool and self.rng.random() < 0.7:
            return pool[min(int(self.rng.paretovariate(1.2)) - 1, len(pool) - 1)]
        region = self.region_in(unit)
        place, trade = "平潭" if unit == PINGTAN else region.city_name[:-1], trade_name(self.rng)
        # Some register the place in full-width brackets: 鑫泰（厦门）食品有限公司.
        name = f"{trade}（{place}）{suffix}" if self.rng.random() < 0.15 else f"{place}{trade}{suffix}"
        ent = Enterprise(name, self.uscc(region.code), region.code)
        pool.append(ent)
        return ent

    def consumer(self) -> tuple[str, str]:
        """Name and mobile; about one caller in twenty has called before."""
        if self.callers and self.rng.random() < 0.05:
            return self.rng.choice(self.callers)
        caller = (self.fake.name(), self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}")
        self.callers.append(caller)
        return caller

    def serial_caller(self) -> tuple[str, str] | None:
        """For a complaint: one of the serial complainants, now and then (their own stream)."""
        if self.serial.random() < self.serial_share:
            return self.serial.choice(self.serial_callers)
        return None

    def file(self, feed: str, day: date, name: str, style: Callable[[random.Random], Style],
             **extra: Any) -> File:
        key = (feed, day, name)
        if key not in self.files:
            self.files[key] = File(feed, day, name, style(self.look), **extra)
        return self.files[key]

    def row(self, f: File, values: dict[str, Any], model: dict[str, Any], key: tuple[Any, ...],
            rank: datetime | None, state: dict[str, Any], ts: str = "dash_s") -> None:
        f.rows.append(Row(values, model, key, rank, state, next(self.idents), ts))


@cache
def _read_regions() -> list[Region]:
    with REGIONS_CSV.open(encoding="utf-8") as f:
        return [Region(r["region_code"], r["region_name"], r["city_code"], r["city_name"])
                for r in csv.DictReader(f)]


def _region_weight(region: Region, regions: Iterable[Region]) -> float:
    if region.code == PINGTAN:
        return _PINGTAN_WEIGHT
    # Urban districts (区) carry more of a city's consumption than its counties.
    share = [1.6 if r.name.endswith("区") else 1.0 for r in regions
             if r.city_code == region.city_code and r.code != PINGTAN]
    return _CITY_WEIGHT[region.city_code] * (1.6 if region.name.endswith("区") else 1.0) / sum(share)


def versions(w: World, model: dict[str, Any], first: str, updated: str,
             events: list[tuple[datetime, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One snapshot per day with a change up to the last night of versions; `updated` = that day's
    last change + lag."""
    snapshots = []
    state = dict(model)
    for day, group in itertools.groupby([(model[first], {}), *events], key=lambda e: e[0].date()):
        if day >= w.versions_end:
            break
        last = model[first]
        for t, changes in group:
            state.update(changes)
            last = t
        lag = timedelta(minutes=w.rng.randint(0, 20))
        state[updated] = min(last + lag, datetime.combine(day, time(23, 59, 59)))
        snapshots.append(dict(state))
    return snapshots
