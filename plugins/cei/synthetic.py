"""Seeded synthetic deliveries of the four upstream feeds, with injectable defects and exact ground truth.

`generate(out, scale=...)` writes `<out>/<feed>/<YYYY-MM-DD>/<file>` as feeds.md describes and returns
(and writes to `<out>/ground_truth.json`) what the ingestion must make of every file.

The model
---------
* **Hotline.** `scale` work orders are registered over the window — working days busier than weekends
  and holidays, office hours on the phone lines, any hour online — in Fujian's 84 counties weighted by
  rough population and spending (福州/厦门/泉州 big, 平潭 small), now and then under the prefecture code.
  Each then lives its life: a complaint (投诉) is accepted within a few working days (some late) or
  refused (不予受理), then mediated and closed within days to ~60 days; a report (举报) is verified and
  closed (已立案/不予立案); a consultation (咨询) is answered, mostly the same day. A closed order gets a
  satisfaction callback a few days later. The nightly export of day D carries every order that changed
  on D with its full current state and 更新时间, so an order appears on its registration night (open) and
  re-appears with newer state (accepted, closed, called back): newest-wins is exercised for real. Orders
  still open when the window ends (or `versions_until`, for windows generated one after another) stay
  open. Units differ a little (acceptance delays, mediation success, satisfaction), so the index has
  something to rank.
* **ODR** disputes (~8 % of the hotline volume) are filed against merchants with a long tail, may be
  updated while open, and close 和解成功/和解失败/转行政调解; every change is re-delivered.
* **Inspection** batches (~1.5 %) arrive when the result is known (sampled 1–4 weeks earlier); online
  samples fail about twice as often as offline ones; some failed batches are re-tested and the re-test
  (a later 更新时间, a later delivery) may overturn the result.
* **Returns.** Each of the 10 assessment units reports its roster of committed enterprises (20–200,
  smaller below scale 5000) once a month, early the following month — only reports delivered inside
  the window exist — and sometimes sends a correction a few days later that replaces enterprise-months.

Files vary the way real exports do, and all of it is valid: GB18030 or UTF-8 with/without BOM, CRLF or
LF, quoting with embedded commas and newlines, the four timestamp forms, thousands separators, stray
spaces, full-width characters, numbers as text in spreadsheets, title and 合计 rows, unknown JSON keys,
blank lines, fractional seconds; the folders carry noise (README.txt, _SUCCESS, lock files).

Defects (`defect_rate` r > 0)
-----------------------------
Each data row independently, with probability r, gets exactly one defect from its feed's classes: a row
defect (quarantined), a field defect (loads with a warning), or an exact duplicate (a copy later in the
same file or in a later delivery of the feed). A few whole-file defects are added besides: a hotline
file without 登记时间, an empty file, undecodable bytes, an .xlsx that is not a zip, and a file delivered
again on a later night. Defects and cosmetics draw from their own seeded streams, so the business
model under a given seed is the same whatever r is.

Ground truth
------------
Computed from the generator's own model, not by running the ingestion: per file the status and counts
(and the source row of every quarantined, duplicate and warned row), per feed the totals and the state
after newest-wins. It assumes files are loaded night by night in delivery order, files of a night in
name order (as `cei.ingest.load` does). Reason codes are those of `cei.ingest.rows`/`readers`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import xlsxwriter
from faker import Faker
from stdnum.cn import uscc as stdnum_uscc

from cei.calendar import days as official_days
from cei.feeds import FEEDS
from cei.settings import FEED_NAMES, REGIONS_CSV

_T = TypeVar("_T")

# ------------------------------------------------------------------------------------------------
# Ground truth (the public result)


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


def generate(
    out: Path,
    *,
    scale: int,
    seed: int = 20260101,
    start: date = date(2026, 7, 1),
    days: int = 92,
    defect_rate: float = 0.0,
    versions_until: date | None = None,
    file_tag: str = "",
) -> GroundTruth:
    """Write deliveries for [start, start + days) under `out` and return (and write) the ground truth.

    `versions_until`: the last night on which work orders and disputes registered in the window
    are still delivered again as they change (default: the window's last day), so that windows
    generated one after another keep every version. `file_tag` goes into every file name, so that
    such windows' files can share a night's folder."""
    if scale < 1 or days < 1 or not 0.0 <= defect_rate <= 1.0:
        raise ValueError("scale and days must be positive and defect_rate within [0, 1]")
    if versions_until is not None and versions_until < start + timedelta(days=days - 1):
        raise ValueError("versions_until must not end before the window does")
    out = Path(out)
    # Mixing with an earlier generation would make the ground truth wrong; never delete anyone's files.
    busy = [f for f in FEED_NAMES if (out / f).is_dir() and any((out / f).iterdir())]
    if busy:
        raise FileExistsError(f"{out}: {', '.join(busy)} already hold files; generate into an empty folder")

    world = _World(seed, start, days, scale, versions_until)
    _simulate_hotline(world)
    _simulate_odr(world)
    _simulate_inspection(world)
    _simulate_returns(world)
    if defect_rate > 0:
        _inject_row_defects(world, defect_rate)
    artifacts = [_write_file(world, f) for f in world.files.values()]
    noise = _noise(world, artifacts)
    if defect_rate > 0:
        artifacts += _file_defects(world, artifacts, defect_rate)
    artifacts += noise
    if file_tag:
        artifacts = [replace(a, name=_tagged(a.name, file_tag)) for a in artifacts]

    for a in artifacts:
        path = out / a.feed / a.day.isoformat() / a.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(a.data)
    truth = _ground_truth(artifacts, seed=seed, scale=scale, start=start, days=days, defect_rate=defect_rate)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ground_truth.json").write_text(truth.to_json(), encoding="utf-8")
    return truth


# ------------------------------------------------------------------------------------------------
# Reference data and realism tables

PINGTAN = "350128"  # assessed as its own unit (feeds.md)
# Rough weight of each prefecture: resident population (10k) × spending intensity.
_CITY_WEIGHT = {"350100": 805, "350200": 720, "350300": 290, "350400": 220, "350500": 980,
                "350600": 455, "350700": 235, "350800": 245, "350900": 285}
_PINGTAN_WEIGHT = 35
_ROSTER = {"350100": 150, "350200": 160, "350300": 50, "350400": 35, "350500": 190, "350600": 90,
           "350700": 35, "350800": 45, "350900": 50, PINGTAN: 20}  # committed-return enterprises per unit

_KINDS = (("投诉", 55), ("咨询", 30), ("举报", 15))
_CHANNELS = (("12315热线", 38), ("全国12315平台", 25), ("12345转办", 22), ("微信小程序", 10), ("来信来访", 5))
_ONLINE_CHANNELS = frozenset({"全国12315平台", "微信小程序"})
_CATEGORIES = (("食品", 13), ("网络购物", 12), ("预付卡消费", 10), ("家用电器", 9), ("通讯服务", 9),
               ("服装鞋帽", 7), ("教育培训", 7), ("餐饮住宿", 6), ("汽车及零部件", 6), ("美容美发", 5),
               ("日用百货", 5), ("旅游服务", 4), ("房屋装修", 4), ("医疗器械", 2))
_CATEGORY_DETAIL = {"家用电器": ("空调", "冰箱", "洗衣机"), "通讯服务": ("宽带", "手机套餐"),
                    "预付卡消费": ("健身", "美容", "洗车"), "汽车及零部件": ("新车", "维修保养")}
_TOURISM_SHARE = {"旅游服务": 0.9, "餐饮住宿": 0.2}  # 是否涉旅 = 是; other categories 1 %
_COMPANY_SUFFIX = {
    "食品": "食品有限公司", "网络购物": "电子商务有限公司", "预付卡消费": "健身服务有限公司",
    "家用电器": "电器有限公司", "通讯服务": "通信技术有限公司", "服装鞋帽": "服饰有限公司",
    "教育培训": "教育咨询有限公司", "餐饮住宿": "餐饮管理有限公司", "汽车及零部件": "汽车销售服务有限公司",
    "美容美发": "美容美发店", "日用百货": "商贸有限公司", "旅游服务": "旅行社有限公司",
    "房屋装修": "装饰工程有限公司", "医疗器械": "医疗器械有限公司",
}
_CALLBACKS = ("满意", "基本满意", "不满意", "无法联系", None)
_CALLBACK_WEIGHTS = (80, 8, 5, 4, 3)
_MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                    "155", "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185",
                    "186", "187", "188", "189", "191", "198", "199")

_ODR_STATUS = (("和解成功", 64), ("和解失败", 22), ("转行政调解", 14))
_ODR_SUFFIX = ("电子商务有限公司", "网络科技有限公司", "商贸有限公司", "餐饮管理有限公司", "旅行社有限公司",
               "教育科技有限公司", "家居有限公司")

_INSPECTION_ITEMS = {
    "服装鞋帽": ("纤维含量", "pH值", "甲醛含量", "耐摩擦色牢度", "使用说明"),
    "儿童玩具": ("小零件", "可迁移元素", "锐利边缘", "标识和使用说明"),
    "学生用品": ("邻苯二甲酸酯", "可迁移元素", "笔杆直径"),
    "纸制品": ("荧光性物质", "细菌菌落总数", "亮度"),
    "建材": ("抗压强度", "放射性", "吸水率"),
    "照明灯具": ("防触电保护", "骚扰电压", "标记和说明", "输入功率"),
    "电线电缆": ("导体电阻", "绝缘厚度", "标志"),
    "家用电器": ("输入功率和电流", "接地措施", "发热", "电源连接"),
}
_PLATFORMS = ("淘宝", "天猫", "京东", "拼多多", "抖音", "快手", "唯品会")
_STORE_KINDS = ("超市", "百货", "电器", "家居", "服饰", "母婴用品", "珠宝", "手机数码", "体育用品")

# Trade names (字号) are two auspicious characters: 鑫泰, 恒丰, 闽榕 …
_TRADE_NAME_CHARS = "鑫泰盛源达恒丰宏福瑞嘉润兴隆祥安德信诚鸿锦闽榕鹭海峰宇新美佳百汇万金华永利康明辉天正荣"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
# Office hours 08:30–12:00, 14:00–17:30; online submissions peak in the evening.
_HOUR_WEIGHTS = (2, 1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 8, 8, 9, 9, 9, 8, 8, 10, 12, 12, 9, 5)

# Timestamp forms of feeds.md: 2026-03-15 09:12:33 · 2026/03/15 09:12:33 · 2026-03-15 09:12 · 2026/3/5 9:05
_TS_FORMATS = ("dash_s", "slash_s", "dash_m", "slash_short")


# ------------------------------------------------------------------------------------------------
# Calendar, numbers, text


@cache
def _is_workday(day: date) -> bool:
    """The official calendar: the library's schedules, provisional statutory holidays beyond them."""
    return official_days.is_workday(day)


def _workday(day: date, n: int) -> date:
    """The n-th working day after `day` (n = 0: `day` itself when it is one, else the next)."""
    while not _is_workday(day):
        day += timedelta(days=1)
    for _ in range(n):
        day += timedelta(days=1)
        while not _is_workday(day):
            day += timedelta(days=1)
    return day


def _office_time(rng: random.Random, day: date) -> datetime:
    minute = (8 * 60 + 30 if rng.random() < 0.55 else 14 * 60) + rng.randrange(210)
    return datetime.combine(day, time(minute // 60, minute % 60, rng.randrange(60)))


def _any_time(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)))


def _after(rng: random.Random, earlier: datetime, t: datetime) -> datetime:
    """`t`, but at least two minutes after `earlier`: dropping seconds must never invert the order."""
    return max(t, earlier + timedelta(minutes=rng.randint(2, 90)))


def _pick(rng: random.Random, table: Sequence[tuple[_T, float]]) -> _T:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _amount(rng: random.Random, median: float, sigma: float) -> Decimal:
    return Decimal(f"{min(rng.lognormvariate(math.log(median), sigma), 500_000):.2f}")


def _fmt_ts(t: datetime, form: str) -> str:
    if form == "dash_s":
        return f"{t:%Y-%m-%d %H:%M:%S}"
    if form == "slash_s":
        return f"{t:%Y/%m/%d %H:%M:%S}"
    if form == "dash_m":
        return f"{t:%Y-%m-%d %H:%M}"
    return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}"


def _fmt_date(d: date, form: str) -> str:
    return f"{d:%Y-%m-%d}" if form == "dash" else f"{d.year}/{d.month}/{d.day}"


def _fmt_iso(t: datetime, fraction: bool) -> str:
    return f"{t:%Y-%m-%dT%H:%M:%S}{'.000' if fraction else ''}+08:00"


def _fmt_amount(rng: random.Random, value: Decimal | None) -> str:
    if value is None:
        return ""
    return rng.choice((f"{value:.2f}", f"{value:,.2f}", f" {value:,.2f} ", f"{value.normalize():f}"))


def _pad(rng: random.Random, text: str) -> str:
    """Now and then surrounding spaces, half- or full-width (the reader trims them)."""
    if text and rng.random() < 0.03:
        return rng.choice((" ", "  ", "\u3000")) + text + rng.choice(("", " "))
    return text


def _trade_name(rng: random.Random) -> str:
    return "".join(rng.sample(_TRADE_NAME_CHARS, 2))


def _json_number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _make_uscc(rng: random.Random, region: str) -> str:
    """18 characters: authority + type, the registering region, an organisation code, the check digit."""
    head = rng.choices(("91", "92", "93", "52"), weights=(80, 15, 2, 3))[0]
    if rng.random() < 0.7:  # codes issued since 2015 start with MA
        org = "MA" + "".join(rng.choice(_USCC_ALPHABET) for _ in range(7))
    else:
        org = "".join(rng.choice("0123456789") for _ in range(8)) + rng.choice("0123456789X")
    body = head + region + org
    return body + stdnum_uscc.calc_check_digit(body)


def _corrupt_uscc(rng: random.Random, valid: str) -> str:
    while True:
        how = rng.randrange(3)
        if how == 0:  # a wrong check digit
            bad = valid[:17] + rng.choice(_USCC_ALPHABET.replace(valid[17], ""))
        elif how == 1:  # a character lost in typing
            i = rng.randrange(18)
            bad = valid[:i] + valid[i + 1:]
        else:  # letters outside the code alphabet
            i = rng.randrange(8, 17)
            bad = valid[:i] + rng.choice("IOSZ") + valid[i + 1:]
        if not stdnum_uscc.is_valid(bad):
            return bad


# ------------------------------------------------------------------------------------------------
# The world: shared state of one generation


@dataclass(frozen=True)
class _Region:
    code: str
    name: str
    city_code: str
    city_name: str

    @property
    def unit(self) -> str:
        return PINGTAN if self.code == PINGTAN else self.city_code


@dataclass(frozen=True)
class _Enterprise:
    name: str
    uscc: str
    region: str


@dataclass(frozen=True)
class _UnitProfile:
    """How one assessment unit differs from the others."""

    late_accept: float  # share of complaints accepted after more than 7 working days
    mediation: float  # share of accepted complaints mediated successfully
    satisfaction: float  # shift of the 满意 share of callbacks
    report_offset: int  # day of the following month its returns report usually arrives
    fail_shift: float  # shift of its inspection fail rate


@dataclass(frozen=True)
class _Style:
    """How one exported file looks; every variant is valid input."""

    encoding: str = "utf-8"
    newline: str = "\n"
    quote_all: bool = False
    ts: str = "dash_s"  # timestamp form, see _fmt_ts
    date: str = "dash"  # date form, see _fmt_date
    fraction: bool = False  # JSONL: fractional seconds
    ascii_json: bool = False  # JSONL: \\u escapes instead of UTF-8
    extra_keys: bool = False  # JSONL: keys the feed does not know
    index_col: bool = False  # XLSX: a leading 序号 column
    filler_row: bool = False  # XLSX: a 填报单位 line between the title and the header
    month_cell: str = "dash"  # XLSX 报送月份: dash (2026-07), cn (2026年7月) or date (an Excel date)
    region_number: bool = False  # XLSX: region codes typed as numbers


@dataclass(eq=False)
class _Row:
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
class _File:
    feed: str
    day: date
    name: str
    style: _Style
    header: tuple[str, ...] = ()
    title: str = ""  # XLSX title row
    note: str = ""  # XLSX: the 填报单位 line some units put under the title
    unit: str = ""  # returns: the reporting unit
    rows: list[_Row] = field(default_factory=list)


@dataclass(eq=False)
class _Artifact:
    """A file as written, with what the ingestion must make of it."""

    feed: str
    day: date
    name: str
    data: bytes
    rows: list[_Row] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)  # source row of each of `rows`
    defect: str | None = None  # file defect: start of the rejection reason
    ignore: str | None = None  # not a feed file: start of the ignore reason


class _World:
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
        self.files: dict[tuple[str, date, str], _File] = {}
        self.idents = itertools.count(1)
        self.usccs: set[str] = set()
        self.pools: dict[tuple[str, str], list[_Enterprise]] = {}
        self.callers: list[tuple[str, str]] = []

    def _profile(self) -> _UnitProfile:
        rng = self.rng
        return _UnitProfile(late_accept=rng.uniform(0.02, 0.12), mediation=rng.uniform(0.48, 0.72),
                            satisfaction=rng.uniform(-0.08, 0.06), report_offset=rng.randint(2, 8),
                            fail_shift=rng.uniform(-0.05, 0.05))

    def region(self) -> _Region:
        return self.rng.choices(self.regions, cum_weights=self.region_cum)[0]

    def region_in(self, unit: str) -> _Region:
        inside, weights = self.unit_regions[unit]
        return self.rng.choices(inside, weights=weights)[0]

    def uscc(self, region: str) -> str:
        while (code := _make_uscc(self.rng, region)) in self.usccs:
            pass
        self.usccs.add(code)
        return code

    def enterprise(self, unit: str, suffix: str) -> _Enterprise:
        """A respondent: often one already known in that unit and trade (repeat respondents exist)."""
        pool = self.pools.setdefault((unit, suffix), [])
        if pool and self.rng.random() < 0.7:
            return pool[min(int(self.rng.paretovariate(1.2)) - 1, len(pool) - 1)]
        region = self.region_in(unit)
        place, trade = "平潭" if unit == PINGTAN else region.city_name[:-1], _trade_name(self.rng)
        # Some register the place in full-width brackets: 鑫泰（厦门）食品有限公司.
        name = f"{trade}（{place}）{suffix}" if self.rng.random() < 0.15 else f"{place}{trade}{suffix}"
        ent = _Enterprise(name, self.uscc(region.code), region.code)
        pool.append(ent)
        return ent

    def consumer(self) -> tuple[str, str]:
        """Name and mobile; about one caller in twenty has called before."""
        if self.callers and self.rng.random() < 0.05:
            return self.rng.choice(self.callers)
        caller = (self.fake.name(), self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}")
        self.callers.append(caller)
        return caller

    def file(self, feed: str, day: date, name: str, style: Callable[[random.Random], _Style],
             **extra: Any) -> _File:
        key = (feed, day, name)
        if key not in self.files:
            self.files[key] = _File(feed, day, name, style(self.look), **extra)
        return self.files[key]

    def row(self, f: _File, values: dict[str, Any], model: dict[str, Any], key: tuple[Any, ...],
            rank: datetime | None, state: dict[str, Any], ts: str = "dash_s") -> None:
        f.rows.append(_Row(values, model, key, rank, state, next(self.idents), ts))


@cache
def _read_regions() -> list[_Region]:
    with REGIONS_CSV.open(encoding="utf-8") as f:
        return [_Region(r["region_code"], r["region_name"], r["city_code"], r["city_name"])
                for r in csv.DictReader(f)]


def _region_weight(region: _Region, regions: Iterable[_Region]) -> float:
    if region.code == PINGTAN:
        return _PINGTAN_WEIGHT
    # Urban districts (区) carry more of a city's consumption than its counties.
    share = [1.6 if r.name.endswith("区") else 1.0 for r in regions
             if r.city_code == region.city_code and r.code != PINGTAN]
    return _CITY_WEIGHT[region.city_code] * (1.6 if region.name.endswith("区") else 1.0) / sum(share)


def _versions(w: _World, model: dict[str, Any], first: str, updated: str,
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


# ------------------------------------------------------------------------------------------------
# Hotline

_HOTLINE_HEADER = tuple(c.source for c in FEEDS["hotline"].columns)


def _style_12315(rng: random.Random) -> _Style:
    return _Style(encoding=rng.choices(("gb18030", "utf-8-sig", "utf-8"), weights=(80, 10, 10))[0],
                  newline=rng.choices(("\r\n", "\n"), weights=(70, 30))[0], quote_all=rng.random() < 0.2,
                  ts=rng.choices(_TS_FORMATS[:3], weights=(60, 25, 15))[0])


def _style_12345(rng: random.Random) -> _Style:
    return _Style(encoding=rng.choices(("utf-8", "utf-8-sig", "gb18030"), weights=(50, 30, 20))[0],
                  newline=rng.choices(("\n", "\r\n"), weights=(70, 30))[0],
                  ts=rng.choices(("slash_short", "slash_s", "dash_m"), weights=(60, 20, 20))[0])


def _simulate_hotline(w: _World) -> None:
    rng = w.rng
    cum = list(itertools.accumulate(1.0 if _is_workday(d) else 0.55 for d in w.days))
    registrations = []
    for day in rng.choices(w.days, cum_weights=cum, k=w.scale):
        channel = _pick(rng, _CHANNELS)
        t = _any_time(rng, day) if channel in _ONLINE_CHANNELS else _office_time(rng, day)
        registrations.append((t, channel))
    registrations.sort()
    per_day: Counter[date] = Counter()
    for reg, channel in registrations:
        per_day[reg.date()] += 1
        order = _new_work_order(w, f"GD{reg:%Y%m%d}{per_day[reg.date()]:05d}", reg, channel)
        profile = w.profiles[w.unit_of[order["行政区划代码"]]]
        for snap in _versions(w, order, "登记时间", "更新时间", _work_order_events(w, order, profile)):
            _hotline_row(w, snap)


def _new_work_order(w: _World, order_id: str, reg: datetime, channel: str) -> dict[str, Any]:
    rng = w.rng
    kind = _pick(rng, _KINDS)
    category = _pick(rng, _CATEGORIES)
    region = w.region()
    # A few orders are handled by the prefecture bureau itself and carry its code.
    code = region.city_code if region.code != PINGTAN and rng.random() < 0.03 else region.code
    unit = ("平潭综合实验区" if code == PINGTAN else region.city_name if code == region.city_code
            else region.name) + "市场监督管理局"
    respondent = None  # a consultation often names no business
    if kind != "咨询" or rng.random() < 0.4:
        respondent = w.enterprise(region.unit, _COMPANY_SUFFIX[category])
    name = respondent.name if respondent else None
    if name and rng.random() < 0.02:  # branch written on a second line, or after a comma: needs quoting
        name += rng.choice(("\n（", ",（")) + f"{region.name}店）"
    detail = _CATEGORY_DETAIL.get(category)
    if detail and rng.random() < 0.2:
        category = f"{category},{rng.choice(detail)}"
    disputed = None
    if (kind == "投诉" and rng.random() < 0.9) or (kind == "举报" and rng.random() < 0.3):
        disputed = _amount(rng, 600, 1.3)
    consumer, phone = w.consumer()
    return {
        "工单编号": order_id, "诉求类型": kind, "来源渠道": channel, "登记时间": reg, "受理时间": None,
        "办结时间": None, "更新时间": reg, "行政区划代码": code, "承办单位": unit, "被诉主体": name,
        "统一社会信用代码": respondent.uscc if respondent and rng.random() < 0.75 else None,
        "商品服务类别": category,
        "是否涉旅": rng.random() < _TOURISM_SHARE.get(category.split(",")[0], 0.01),
        "争议金额": disputed, "挽回经济损失": None, "办理结果": None, "回访结果": None,
        "消费者姓名": consumer, "消费者电话": phone,
    }


def _work_order_events(w: _World, order: dict[str, Any],
                       profile: _UnitProfile) -> list[tuple[datetime, dict[str, Any]]]:
    """Acceptance, closure and callback, in order; some fall after the window and never arrive."""
    rng = w.rng
    reg: datetime = order["登记时间"]
    kind = order["诉求类型"]
    events: list[tuple[datetime, dict[str, Any]]] = []
    if kind == "咨询":
        if rng.random() < 0.85:
            close = reg + timedelta(minutes=rng.randint(3, 180))
        else:
            close = _after(rng, reg, _office_time(rng, _workday(reg.date(), rng.randint(1, 3))))
        events.append((close, {"办结时间": close, "办理结果": "已答复"}))
    else:
        # Acceptance (or refusal) within the 7-working-day limit, except for the unit's late share;
        # reports are taken up faster.
        if rng.random() < profile.late_accept:
            delay = rng.randint(8, 12)
        elif kind == "举报":
            delay = rng.choices(range(6), weights=(40, 25, 15, 10, 5, 5))[0]
        else:
            delay = rng.choices(range(8), weights=(30, 25, 15, 8, 6, 5, 5, 6))[0]
        accept = _after(rng, reg, _office_time(rng, _workday(reg.date(), delay)))
        if kind == "投诉" and rng.random() < 0.08:
            events.append((accept, {"受理时间": accept, "办结时间": accept, "办理结果": "不予受理"}))
        else:
            events.append((accept, {"受理时间": accept}))
            close, outcome = _closure(w, order, accept, profile)
            changes: dict[str, Any] = {"办结时间": close, "办理结果": outcome}
            if outcome == "调解成功":  # part or all of the disputed amount recovered
                base = order["争议金额"] or (_amount(rng, 300, 1.0) if rng.random() < 0.2 else None)
                if base is not None:
                    changes["挽回经济损失"] = Decimal(f"{base * Decimal(rng.uniform(0.3, 1.0)):.2f}")
            elif outcome in ("调解终止", "撤回投诉") and rng.random() < 0.1:
                changes["挽回经济损失"] = Decimal("0")
            events.append((close, changes))
    close_time = events[-1][0]
    weights = list(_CALLBACK_WEIGHTS)
    weights[0] = max(1.0, weights[0] + 100 * profile.satisfaction)
    weights[2] = max(1.0, weights[2] - 50 * profile.satisfaction)
    callback = rng.choices(_CALLBACKS, weights=weights)[0]
    if callback:
        at = _after(rng, close_time, _office_time(rng, _workday(close_time.date(), rng.randint(1, 5))))
        events.append((at, {"回访结果": callback}))
    return events


def _closure(w: _World, order: dict[str, Any], accept: datetime,
             profile: _UnitProfile) -> tuple[datetime, str]:
    rng = w.rng
    if order["诉求类型"] == "举报":  # verified within 15 working days, mostly
        days = rng.randint(1, 15) if rng.random() < 0.85 else rng.randint(16, 30)
        outcome = "已立案" if rng.random() < 0.25 else "不予立案"
    else:  # mediation: median ~6 working days, a tail beyond the 45-day limit
        days = min(int(rng.lognormvariate(math.log(6), 0.9)), 50)
        r = rng.random()
        outcome = "调解成功" if r < profile.mediation else "调解终止" if r < 0.86 else "撤回投诉"
    return _after(rng, accept, _office_time(rng, _workday(accept.date(), days))), outcome


def _hotline_row(w: _World, snap: dict[str, Any]) -> None:
    look = w.look
    day = snap["更新时间"].date()
    twelve345 = snap["来源渠道"] == "12345转办"
    if twelve345:
        f = w.file("hotline", day, f"12345转办工单_{day:%Y%m%d}.csv", _style_12345,
                   header=(*_HOTLINE_HEADER, "转办单号"))
    else:
        f = w.file("hotline", day, f"12315工单_{day:%Y%m%d}.csv", _style_12315, header=_HOTLINE_HEADER)
    # Letters and visits are typed in by hand: some rows use another timestamp form.
    form = look.choice(_TS_FORMATS) if look.random() < 0.05 else f.style.ts
    phone = snap["消费者电话"]
    phone_text = look.choices((phone, f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"+86 {phone}"),
                              weights=(90, 6, 4))[0]
    values = {
        "工单编号": snap["工单编号"], "诉求类型": _pad(look, snap["诉求类型"]), "来源渠道": snap["来源渠道"],
        **{c: "" if snap[c] is None else _fmt_ts(snap[c], form)
           for c in ("登记时间", "受理时间", "办结时间", "更新时间")},
        "行政区划代码": _pad(look, snap["行政区划代码"]), "承办单位": snap["承办单位"],
        "被诉主体": _pad(look, snap["被诉主体"] or ""), "统一社会信用代码": snap["统一社会信用代码"] or "",
        "商品服务类别": _pad(look, snap["商品服务类别"]),
        "是否涉旅": "是" if snap["是否涉旅"] else look.choice(("否", "否", "否", "")),
        "争议金额": _fmt_amount(look, snap["争议金额"]),
        "挽回经济损失": _fmt_amount(look, snap["挽回经济损失"]),
        "办理结果": snap["办理结果"] or "", "回访结果": snap["回访结果"] or "",
        "消费者姓名": _pad(look, snap["消费者姓名"]), "消费者电话": phone_text,
    }
    if twelve345:
        values["转办单号"] = "ZB" + snap["工单编号"][2:]
    state = {"kind": snap["诉求类型"], "outcome": snap["办理结果"] or "open"}
    w.row(f, values, snap, (snap["工单编号"],), snap["更新时间"], state, form)


# ------------------------------------------------------------------------------------------------
# ODR


def _style_odr(rng: random.Random) -> _Style:
    return _Style(newline=rng.choices(("\n", "\r\n"), weights=(85, 15))[0], fraction=rng.random() < 0.2,
                  ascii_json=rng.random() < 0.2, extra_keys=rng.random() < 0.5)


def _simulate_odr(w: _World) -> None:
    rng = w.rng
    count = max(1, round(w.scale * 0.08))
    merchants = [_odr_merchant(w) for _ in range(max(8, count // 12))]
    popularity = [1 / (i + 1) ** 0.9 for i in range(len(merchants))]  # a few platforms' shops dominate
    cum = list(itertools.accumulate(1.0 if d.weekday() < 5 else 0.9 for d in w.days))
    per_day: Counter[date] = Counter()
    for filed in sorted(_any_time(rng, d) for d in rng.choices(w.days, cum_weights=cum, k=count)):
        per_day[filed.date()] += 1
        merchant = rng.choices(merchants, weights=popularity)[0]
        dispute = {
            "dispute_id": f"ODR{filed:%Y%m%d}{per_day[filed.date()]:05d}", "enterprise_uscc": merchant.uscc,
            "enterprise_name": merchant.name, "region_code": merchant.region, "filed_at": filed,
            "closed_at": None, "status": "处理中",
            "amount": _amount(rng, 350, 1.1) if rng.random() < 0.88 else None, "updated_at": filed,
        }
        profile = w.profiles[w.unit_of[merchant.region]]
        for snap in _versions(w, dispute, "filed_at", "updated_at", _dispute_events(w, filed, profile)):
            _odr_row(w, snap)


def _odr_merchant(w: _World) -> _Enterprise:
    region = w.region()
    name = f"{region.city_name[:-1]}{_trade_name(w.rng)}{w.rng.choice(_ODR_SUFFIX)}"
    return _Enterprise(name, w.uscc(region.code), region.code)


def _dispute_events(w: _World, filed: datetime,
                    profile: _UnitProfile) -> list[tuple[datetime, dict[str, Any]]]:
    rng = w.rng
    wait = min(int(rng.lognormvariate(math.log(4), 0.8)), 40)
    close = _after(rng, filed, _any_time(rng, filed.date() + timedelta(days=wait)))
    events: list[tuple[datetime, dict[str, Any]]] = []
    if rng.random() < 0.4:  # the merchant answered on an earlier day: an update while still open
        reply = _after(rng, filed, _any_time(rng, filed.date() + timedelta(days=rng.randint(1, 3))))
        if reply.date() < close.date():
            events.append((reply, {}))
    shift = 60 * (profile.mediation - 0.6)
    status = _pick(rng, tuple((s, max(1.0, wt + shift if s == "和解成功" else wt)) for s, wt in _ODR_STATUS))
    events.append((close, {"closed_at": close, "status": status}))
    return events


def _odr_row(w: _World, snap: dict[str, Any]) -> None:
    look = w.look
    day = snap["updated_at"].date()
    f = w.file("odr", day, f"odr_disputes_{day:%Y%m%d}.jsonl", _style_odr)
    values: dict[str, Any] = {
        "dispute_id": snap["dispute_id"], "enterprise_uscc": snap["enterprise_uscc"],
        "enterprise_name": snap["enterprise_name"],
        "region_code": int(snap["region_code"]) if look.random() < 0.1 else snap["region_code"],
        **{k: None if snap[k] is None else _fmt_iso(snap[k], f.style.fraction)
           for k in ("filed_at", "closed_at")},
        "status": snap["status"], "amount": _json_number(snap["amount"]),
        "updated_at": _fmt_iso(snap["updated_at"], f.style.fraction),
    }
    if f.style.extra_keys:  # keys the feed does not declare: ignored by the reader
        values |= {"platform": "全国12315平台", "batch_no": f"{day:%Y%m%d}-01"}
    w.row(f, values, snap, (snap["dispute_id"],), snap["updated_at"], {"status": snap["status"]})


# ------------------------------------------------------------------------------------------------
# Inspection

_INSPECTION_HEADER = tuple(c.source for c in FEEDS["inspection"].columns)


def _style_inspection(rng: random.Random) -> _Style:
    return _Style(encoding="utf-8-sig", newline=rng.choice(("\r\n", "\n")), ts=rng.choice(_TS_FORMATS),
                  date=rng.choice(("dash", "slash")))


def _simulate_inspection(w: _World) -> None:
    rng = w.rng
    workdays = [d for d in w.days if _is_workday(d)] or w.days
    for seq, day in enumerate(sorted(rng.choices(workdays, k=max(1, round(w.scale * 0.015)))), start=1):
        online = rng.random() < 0.4
        category = rng.choice(tuple(_INSPECTION_ITEMS))
        region = w.region()
        if online:  # a platform shop, registered (and sampled on behalf of) its home county
            platform = rng.choice(_PLATFORMS)
            name = f"{_trade_name(w.rng)}{category}{rng.choice(('旗舰店', '专营店', '专卖店'))}"
            shop = _Enterprise(name, w.uscc(region.code), region.code)
        else:
            platform = None
            kind = rng.choice(("商贸有限公司", "百货有限公司", "超市有限公司"))
            shop = w.enterprise(region.unit, kind)
        fail_rate = (0.30 if online else 0.16) + w.profiles[w.unit_of[shop.region]].fail_shift
        failed = rng.random() < fail_rate
        items = tuple(rng.sample(_INSPECTION_ITEMS[category], rng.randint(1, 2))) if failed else ()
        sampled = day - timedelta(days=rng.randint(7, 28))
        sample = {
            "抽样单编号": f"XC{sampled:%Y%m%d}{seq:05d}", "抽样日期": sampled, "行政区划代码": shop.region,
            "商品类别": category, "销售渠道": "网络平台" if online else "实体店", "平台名称": platform,
            "被抽样单位": shop.name,
            "统一社会信用代码": shop.uscc if rng.random() < (0.8 if online else 0.9) else None,
            "检验结论": "不合格" if failed else "合格", "不合格项目": items,
            "更新时间": _office_time(rng, day),
        }
        _inspection_row(w, sample)
        if failed and rng.random() < 0.25:  # the enterprise asked for a re-test; it may overturn the result
            again = _workday(day + timedelta(days=rng.randint(5, 20)), 0)
            if again < w.end:
                passed = rng.random() < 0.55
                _inspection_row(w, sample | {"检验结论": "合格" if passed else "不合格",
                                             "不合格项目": () if passed else items[:1],
                                             "更新时间": _office_time(rng, again)})


def _inspection_row(w: _World, sample: dict[str, Any]) -> None:
    day = sample["更新时间"].date()
    f = w.file("inspection", day, f"流通领域商品质量抽检_{day:%Y%m%d}.csv", _style_inspection,
               header=_INSPECTION_HEADER)
    values = {
        "抽样单编号": sample["抽样单编号"], "抽样日期": _fmt_date(sample["抽样日期"], f.style.date),
        "行政区划代码": sample["行政区划代码"], "商品类别": sample["商品类别"],
        "销售渠道": sample["销售渠道"],
        "平台名称": sample["平台名称"] or "", "被抽样单位": _pad(w.look, sample["被抽样单位"]),
        "统一社会信用代码": sample["统一社会信用代码"] or "", "检验结论": sample["检验结论"],
        "不合格项目": ";".join(sample["不合格项目"]), "更新时间": _fmt_ts(sample["更新时间"], f.style.ts),
    }
    state = {"channel": sample["销售渠道"], "result": sample["检验结论"]}
    w.row(f, values, sample, (sample["抽样单编号"],), sample["更新时间"], state, f.style.ts)


# ------------------------------------------------------------------------------------------------
# Returns

_RETURNS_HEADER = tuple(c.source for c in FEEDS["returns"].columns)


@dataclass(frozen=True)
class _Store:
    enterprise: _Enterprise
    committed: date  # 承诺日期: it reports from that month on
    items: float  # typical returns per month
    price: float  # typical refund per item, yuan


def _style_returns(rng: random.Random) -> _Style:
    return _Style(index_col=rng.random() < 0.5, filler_row=rng.random() < 0.5,
                  month_cell=rng.choice(("dash", "cn", "date")), region_number=rng.random() < 0.6)


def _add_months(first: date, n: int) -> date:
    years, month = divmod(first.month - 1 + n, 12)
    return date(first.year + years, month + 1, 1)


def _simulate_returns(w: _World) -> None:
    rng = w.rng
    factor = min(1.0, w.scale / 5000)  # full 20–200 rosters from scale 5000 on; small runs stay small
    rosters = {u: [_store(w, u) for _ in range(max(3, round(_ROSTER[u] * factor)))] for u in w.units}
    month = _add_months(w.days[0].replace(day=1), -1)
    while month < w.end:
        for unit in w.units:
            offset = w.profiles[unit].report_offset + rng.randint(-1, 2)
            delivered = _workday(_add_months(month, 1) + timedelta(days=offset - 1), 0)
            if w.days[0] <= delivered < w.end:
                _returns_report(w, unit, month, delivered, rosters[unit])
        month = _add_months(month, 1)


def _store(w: _World, unit: str) -> _Store:
    rng = w.rng
    region = w.region_in(unit)
    name = f"{region.name[:-1]}{_trade_name(w.rng)}{rng.choice(_STORE_KINDS)}有限公司"
    return _Store(_Enterprise(name, w.uscc(region.code), region.code),
                  committed=w.days[0] - timedelta(days=rng.randint(-60, 1500)),
                  items=rng.lognormvariate(math.log(12), 0.9), price=rng.lognormvariate(math.log(180), 0.8))


def _returns_report(w: _World, unit: str, month: date, delivered: date, roster: list[_Store]) -> None:
    rng = w.rng
    month_end = _add_months(month, 1) - timedelta(days=1)
    name = f"{w.unit_names[unit]}_{month.year}年{month.month:02d}月线下无理由退货统计表"
    title = f"{month.year}年{month.month}月线下无理由退货情况统计表"
    note = f"填报单位：{w.unit_names[unit]}市场监督管理局"
    f = w.file("returns", delivered, name + ".xlsx", _style_returns, header=_RETURNS_HEADER, title=title,
               unit=unit, note=note)
    reported = []
    for store in roster:
        if store.committed <= month_end:
            items = 0 if rng.random() < 0.08 else max(1, int(rng.lognormvariate(math.log(store.items), 0.35)))
            refund = Decimal(f"{items * store.price * rng.uniform(0.8, 1.2):.2f}")
            reported.append((store, items))
            _returns_row(w, f, store, month, items, refund)
    again = _workday(delivered + timedelta(days=rng.randint(3, 12)), 0)
    if reported and rng.random() < 0.3 and again < w.end:  # a correction replaces a few enterprise-months
        g = w.file("returns", again, name + "（更正）.xlsx", _style_returns, header=_RETURNS_HEADER,
                   title=title + "（更正）", unit=unit, note=note)
        for store, items in rng.sample(reported, min(len(reported), rng.randint(1, 3))):
            fixed = max(0, items + rng.choice((-2, -1, 1, 2, 3))) or items + 1
            refund = Decimal(f"{fixed * store.price * rng.uniform(0.8, 1.2):.2f}")
            _returns_row(w, g, store, month, fixed, refund)


def _returns_row(w: _World, f: _File, store: _Store, month: date, items: int, refund: Decimal) -> None:
    look = w.look
    ent = store.enterprise
    month_end = _add_months(month, 1) - timedelta(days=1)
    month_cell: Any = {"dash": f"{month:%Y-%m}", "cn": f"{month.year}年{month.month}月",
                       "date": look.choice((month, month_end))}[f.style.month_cell]
    committed: Any = look.choices((store.committed, f"{store.committed:%Y-%m-%d}", ""), weights=(6, 3, 1))[0]
    values = {
        "企业名称": _pad(look, ent.name), "统一社会信用代码": ent.uscc,
        "行政区划代码": int(ent.region) if f.style.region_number else ent.region, "报送月份": month_cell,
        "承诺日期": committed, "退货件数": items if look.random() < 0.85 else str(items),
        "退款金额（元）": float(refund) if look.random() < 0.85 else f"{refund:,.2f}",
    }
    model = {"统一社会信用代码": ent.uscc, "报送月份": month, "承诺日期": store.committed, "退货件数": items,
             "退款金额（元）": refund}
    w.row(f, values, model, (ent.uscc, month), None, {"items": items, "refund": refund})


# ------------------------------------------------------------------------------------------------
# Row defects: each injector changes one thing and returns the code the ingestion will record
# (a quarantine reason, or "<code>:<column>" for a warning), or None when the row has nothing to break.

_Injector = Callable[[_Row, random.Random], "str | None"]
_DROP = object()  # JSONL: the key is left out altogether
_BAD_REGIONS = ("330102", "110105", "350182", "350199", "35010", "３５０１０２", "3501O2")  # 350182: retired
_BAD_NUMBERS = ("约2000元", "2千", "1,23.50", "¥300", "300元", "N/A")


def _present(value: Any) -> bool:
    return value is not None and value != "" and not (isinstance(value, str) and not value.strip())


def _missing(columns: tuple[str, ...], blanks: tuple[Any, ...] = ("", " ", "\u3000")) -> _Injector:
    def inject(row: _Row, rng: random.Random) -> str:
        column, blank = rng.choice(columns), rng.choice(blanks)
        if blank is _DROP:
            row.values.pop(column, None)
        else:
            row.values[column] = blank
        return "missing_required"

    return inject


def _replace(column: str, bad: tuple[Any, ...], code: str) -> _Injector:
    def inject(row: _Row, rng: random.Random) -> str:
        row.values[column] = rng.choice(bad)
        return code

    return inject


def _bad_enum(options: tuple[tuple[str, tuple[str, ...]], ...],
              only_if_set: tuple[str, ...] = ()) -> _Injector:
    def inject(row: _Row, rng: random.Random) -> str:
        usable = [(c, bad) for c, bad in options if c not in only_if_set or _present(row.values.get(c))]
        column, bad = rng.choice(usable)
        row.values[column] = rng.choice(bad)
        return "bad_enum"

    return inject


def _bad_timestamp(columns: tuple[str, ...]) -> _Injector:
    def inject(row: _Row, rng: random.Random) -> str | None:
        usable = [c for c in columns if _present(row.values.get(c))]
        if not usable:
            return None
        column = rng.choice(usable)
        t: datetime = row.model[column]
        row.values[column] = rng.choice((
            f"{t.year}-13-{t.day:02d} {t:%H:%M}", f"{t.year}年{t.month}月{t.day}日 {t.hour}:{t.minute:02d}",
            f"{t:%Y%m%d%H%M}", f"{t:%Y-%m-%d} 24:{t.minute:02d}", f"{t:%d/%m/%Y %H:%M}", f"{t:%Y-%m-%d}",
            "#VALUE!",
        ))
        return "bad_timestamp"

    return inject


def _bad_date(column: str) -> _Injector:
    def inject(row: _Row, rng: random.Random) -> str:
        d: date = row.model[column]
        row.values[column] = rng.choice((f"{d.year}-{d.month:02d}-32", f"{d.year}年{d.month}月{d.day}日",
                                         f"{d:%d/%m/%Y}", f"{d.year}-02-30", "长期"))
        return "bad_date"

    return inject


def _bad_month(row: _Row, rng: random.Random) -> str:
    m: date = row.model["报送月份"]
    row.values["报送月份"] = rng.choice((f"{m.year}年13月", "七月", f"{m.year}.{m.month:02d}",
                                      f"{m.month}/{m.year}"))
    return "bad_month"


def _negative(columns: tuple[str, ...], text: bool) -> _Injector:
    def inject(row: _Row, rng: random.Random) -> str:
        column = rng.choice(columns)
        magnitude = row.model.get(column) or Decimal(rng.randint(1, 3000))
        row.values[column] = f"-{magnitude:,.2f}" if text else -float(magnitude)
        return "negative_value"

    return inject


def _before(column: str, anchor: str, code: str, render: Callable[[datetime, _Row], str]) -> _Injector:
    """`column` set earlier than `anchor` (closed before registered, accepted before registered …)."""

    def inject(row: _Row, rng: random.Random) -> str | None:
        if not _present(row.values.get(column)):
            return None
        row.values[column] = render(row.model[anchor] - timedelta(hours=rng.randint(1, 72)), row)
        return code

    return inject


def _bad_uscc(column: str, code: str) -> _Injector:
    def inject(row: _Row, rng: random.Random) -> str:
        row.values[column] = _corrupt_uscc(rng, row.model.get(column) or _make_uscc(rng, "350100"))
        return code

    return inject


def _row_shape(row: _Row, rng: random.Random) -> str:
    row.shape = rng.choice((1, -1))
    return "bad_row_shape"


def _bad_json(row: _Row, rng: random.Random) -> str:
    text = json.dumps(row.values, ensure_ascii=False)
    row.line = rng.choice((
        text[: rng.randrange(5, len(text) - 1)],  # cut off mid-record
        text.replace('"', "'"),  # a hand-written export with single quotes
        text[:-1] + ",}",  # a trailing comma
    ))
    return "bad_json"


_REPEAT = "exact duplicate"


def _duplicate(row: _Row, rng: random.Random) -> str:
    """Leaves the row clean: the caller repeats it later (see `_place_duplicate`)."""
    return _REPEAT


_DEFECTS: dict[str, tuple[_Injector, ...]] = {
    "hotline": (
        _missing(("工单编号", "诉求类型", "登记时间", "更新时间", "行政区划代码")),
        _bad_timestamp(("登记时间", "受理时间", "办结时间", "更新时间")),
        _bad_enum((("诉求类型", ("建议", "求助", "投拆")), ("是否涉旅", ("Y", "1", "涉旅")),
                   ("办理结果", ("已办结", "调解中")), ("回访结果", ("非常满意", "未回访"))),
                  only_if_set=("办理结果", "回访结果")),
        _replace("行政区划代码", _BAD_REGIONS, "unknown_region"),
        _negative(("争议金额", "挽回经济损失"), text=True),
        _before("办结时间", "登记时间", "closed_before_registered", lambda t, row: _fmt_ts(t, row.ts)),
        _before("受理时间", "登记时间", "accepted_before_registered", lambda t, row: _fmt_ts(t, row.ts)),
        _row_shape,
        _bad_uscc("统一社会信用代码", "bad_uscc:respondent_uscc"),
        _replace("争议金额", _BAD_NUMBERS, "bad_number:disputed_amount"),
        _replace("挽回经济损失", _BAD_NUMBERS, "bad_number:recovered_loss"),
        _duplicate, _duplicate,
    ),
    "odr": (
        _missing(("dispute_id", "enterprise_uscc", "region_code", "filed_at", "status", "updated_at"),
                 blanks=(_DROP, None, "")),
        _bad_uscc("enterprise_uscc", "bad_uscc"),
        _replace("region_code", _BAD_REGIONS, "unknown_region"),
        _bad_timestamp(("filed_at", "closed_at", "updated_at")),
        _replace("status", ("已撤诉", "处理完毕", "closed"), "bad_enum"),
        _negative(("amount",), text=False),
        _before("closed_at", "filed_at", "closed_before_filed", lambda t, row: _fmt_iso(t, False)),
        _bad_json,
        _replace("amount", ("约300元", "三百", "300元"), "bad_number:amount"),
        _duplicate, _duplicate,
    ),
    "inspection": (
        _missing(("抽样单编号", "抽样日期", "行政区划代码", "销售渠道", "检验结论", "更新时间")),
        _bad_date("抽样日期"),
        _replace("行政区划代码", _BAD_REGIONS, "unknown_region"),
        _bad_enum((("销售渠道", ("线上", "电商", "商超")), ("检验结论", ("基本合格", "待定")))),
        _bad_timestamp(("更新时间",)),
        _row_shape,
        _bad_uscc("统一社会信用代码", "bad_uscc:enterprise_uscc"),
        _duplicate, _duplicate,
    ),
    "returns": (
        _missing(("统一社会信用代码", "行政区划代码", "报送月份", "退货件数", "退款金额（元）")),
        _bad_uscc("统一社会信用代码", "bad_uscc"),
        _replace("行政区划代码", _BAD_REGIONS, "unknown_region"),
        _bad_month,
        _negative(("退货件数", "退款金额（元）"), text=False),
        _bad_date("承诺日期"),
        _replace("退货件数", (2.5, "3.5", "1.25"), "bad_integer"),
        _replace("退款金额（元）", ("待核实", "约500", "1,23.5"), "bad_number"),
        _duplicate, _duplicate,
    ),
}


def _inject_row_defects(w: _World, rate: float) -> None:
    """About `rate` of the rows get one defect each. Classes are dealt from a shuffled bag per feed, so
    they come out balanced and every class appears once a feed has that many defects, even in a small
    feed; a class that does not apply to the row (closed before registered on an open order) waits."""
    rng = w.defects
    bags: dict[str, list[_Injector]] = {feed: [] for feed in _DEFECTS}
    copies: list[tuple[_File, _Row]] = []
    for f in w.files.values():
        bag = bags[f.feed]
        for row in f.rows:
            if rng.random() >= rate:
                continue
            if not bag:
                bag += rng.sample(_DEFECTS[f.feed], len(_DEFECTS[f.feed]))
            for inject in [*bag, *rng.sample(_DEFECTS[f.feed], len(_DEFECTS[f.feed]))]:
                code = inject(row, rng)
                if code is None:
                    continue
                if code == _REPEAT:
                    copies.append((f, row))
                else:
                    row.code = code
                if inject in bag:
                    bag.remove(inject)
                break
    for f, row in copies:
        _place_duplicate(w, f, row, rng)


def _place_duplicate(w: _World, f: _File, row: _Row, rng: random.Random) -> None:
    """The same record again: later in its file, or in a later delivery of the feed (same unit)."""
    copy = replace(row, values=dict(row.values))
    later = [g for g in w.files.values() if g.feed == f.feed and g.day > f.day and g.unit == f.unit]
    if later and rng.random() < 0.5:
        target = rng.choice(later)
        target.rows.insert(rng.randint(0, len(target.rows)), copy)
    else:
        f.rows.insert(rng.randint(f.rows.index(row) + 1, len(f.rows)), copy)


# ------------------------------------------------------------------------------------------------
# Writing files

_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # how the reader (newline="") counts physical lines


def _write_file(w: _World, f: _File) -> _Artifact:
    if f.feed == "odr":
        data, numbers = _jsonl_bytes(w, f)
    elif f.feed == "returns":
        data, numbers = _xlsx_bytes(f)
    else:
        data, numbers = _csv_bytes(f.header, f.rows, f.style)
    return _Artifact(f.feed, f.day, f.name, data, list(f.rows), numbers)


def _csv_fields(header: tuple[str, ...], row: _Row) -> list[str]:
    fields = [row.values.get(c, "") for c in header]
    if row.shape > 0:  # an unquoted comma inside a name split it in two
        fields.insert(len(fields) // 2, "分店")
    elif row.shape < 0:  # the export lost the last field
        fields.pop()
    return fields


def _csv_bytes(header: tuple[str, ...], rows: list[_Row], style: _Style) -> tuple[bytes, list[int]]:
    out, one = io.StringIO(), io.StringIO()
    writer = csv.writer(one, lineterminator=style.newline,
                        quoting=csv.QUOTE_ALL if style.quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    out.write(one.getvalue())
    line, numbers = 2, []
    for row in rows:
        one.seek(0)
        one.truncate()
        writer.writerow(_csv_fields(header, row))
        text = one.getvalue()
        out.write(text)
        numbers.append(line)
        line += len(_LINE_BREAK.findall(text))  # quoted fields may hold line breaks
    return out.getvalue().encode(style.encoding), numbers


def _jsonl_bytes(w: _World, f: _File) -> tuple[bytes, list[int]]:
    lines: list[str] = []
    numbers = []
    for row in f.rows:
        if w.look.random() < 0.01:
            lines.append(w.look.choice(("", "  ")))  # blank lines are allowed and skipped
        text = json.dumps(row.values, ensure_ascii=f.style.ascii_json) if row.line is None else row.line
        lines.append(text)
        numbers.append(len(lines))
    return "".join(line + f.style.newline for line in lines).encode("utf-8"), numbers


def _xlsx_bytes(f: _File) -> tuple[bytes, list[int]]:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    # Fixed metadata (xlsxwriter would stamp the wall clock): the same arguments give the same bytes.
    book.set_properties({"title": f.title, "author": "统计员", "created": datetime.combine(f.day, time(9))})
    sheet = book.add_worksheet("Sheet1")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    header = (("序号",) if f.style.index_col else ()) + f.header
    sheet.merge_range(0, 0, 0, len(header) - 1, f.title, book.add_format({"bold": True, "align": "center"}))
    r = 2
    if f.style.filler_row:
        sheet.write_string(1, 0, f.note)
        r = 3
    sheet.write_row(r, 0, header)  # one blank row above it
    numbers = []
    for i, row in enumerate(f.rows, start=1):
        r += 1
        cells = ([i] if f.style.index_col else []) + [row.values.get(c, "") for c in f.header]
        for c, value in enumerate(cells):
            _write_cell(sheet, r, c, value, date_format)
        numbers.append(r + 1)
    r += 1
    sheet.write_string(r, 0, "合计")
    sheet.write_number(r, header.index("退货件数"), sum(row.model["退货件数"] for row in f.rows))
    refunds = sum(row.model["退款金额（元）"] for row in f.rows)
    sheet.write_number(r, header.index("退款金额（元）"), float(refunds))
    book.close()
    return out.getvalue(), numbers


def _write_cell(sheet: Any, r: int, c: int, value: Any, date_format: Any) -> None:
    if isinstance(value, str):
        if value:
            sheet.write_string(r, c, value)
    elif isinstance(value, date):
        sheet.write_datetime(r, c, datetime.combine(value, time()), date_format)
    elif value is not None:
        sheet.write_number(r, c, value)


# ------------------------------------------------------------------------------------------------
# File defects and noise


def _file_defects(w: _World, artifacts: list[_Artifact], rate: float) -> list[_Artifact]:
    rng = w.defects
    hotline = [a for a in artifacts if a.feed == "hotline"]
    copyable = [a for a in artifacts if a.day < w.days[-1]]
    gb = _Style(encoding="gb18030", newline="\r\n")
    extra = []
    for k in range(1, max(1, round(rate * len(w.days) / 20)) + 1):
        if hotline:
            a = rng.choice(hotline)
            header = tuple(c for c in _HOTLINE_HEADER if c != "登记时间")
            data = _csv_bytes(header, a.rows[:20], gb)[0]
            extra.append(_Artifact("hotline", a.day, f"{Path(a.name).stem}_补传{k}.csv", data,
                                   defect="missing columns: 登记时间"))
            b = rng.choice(hotline)
            data = _csv_bytes(_HOTLINE_HEADER, b.rows[:20], gb)[0]
            cut = data.index(b"\n") + 1  # bytes valid in neither UTF-8 nor GB18030 open the first record
            extra.append(_Artifact("hotline", b.day, f"{Path(b.name).stem}_重发{k}.csv",
                                   data[:cut] + b"\xff\xfe\xff" + data[cut:], defect="undecodable"))
        feed, stem = rng.choice((("hotline", "12315工单"), ("inspection", "流通领域商品质量抽检")))
        day = rng.choice(w.days)
        extra.append(_Artifact(feed, day, f"{stem}_{day:%Y%m%d}_补充{k}.csv", b"", defect="empty file"))
        day, unit = rng.choice(w.days), rng.choice(w.units)
        html = (f"<html><body><table><tr><td>企业名称</td><td>统一社会信用代码</td></tr></table>"
                f"<p>{w.unit_names[unit]}</p></body></html>")  # an HTML export renamed .xlsx
        extra.append(_Artifact("returns", day, f"{w.unit_names[unit]}_退货统计_导出{k}.xlsx",
                               html.encode("utf-8"), defect="not an XLSX workbook"))
        if copyable:  # the same file delivered again on a later night
            a = copyable.pop(rng.randrange(len(copyable)))
            again = min(a.day + timedelta(days=rng.randint(1, 7)), w.days[-1])
            extra.append(_Artifact(a.feed, again, a.name, a.data, a.rows, a.row_numbers))
    return extra


def _noise(w: _World, artifacts: list[_Artifact]) -> list[_Artifact]:
    """Files beside the deliveries that the ingestion must ignore (and log)."""
    rng = w.noise
    extra = []
    folders = sorted({(a.feed, a.day): a.name for a in artifacts}.items())
    for i, ((feed, day), name) in enumerate(folders):
        if feed == "odr":
            extra.append(_Artifact(feed, day, "_SUCCESS", b"", ignore="marker or temporary file"))
        elif feed == "hotline" and (i == 0 or rng.random() < 0.08):
            text = "本目录为12315工单系统每日导出，字段说明见接口文档。\r\n"
            extra.append(_Artifact(feed, day, "README.txt", text.encode("gb18030"), ignore="not a .csv file"))
        elif feed == "returns" and rng.random() < 0.15:
            lock = f",统计员,PC-{rng.randint(1, 40):02d},{day:%d.%m.%Y} 09:12,file:///C:/Users/统计员;"
            extra.append(_Artifact(feed, day, f".~lock.{name}#", lock.encode("utf-8"),
                                   ignore="marker or temporary file"))
    return extra


def _tagged(name: str, tag: str) -> str:
    """`12315工单_20250105.csv` → `12315工单_20250105_w03.csv`."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}_{tag}.{suffix}" if dot else f"{name}_{tag}"


# ------------------------------------------------------------------------------------------------
# Ground truth


def _ground_truth(artifacts: list[_Artifact], *, seed: int, scale: int, start: date, days: int,
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


def _account_rows(t: FileTruth, a: _Artifact, order: int, seen: set[int],
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
