"""The returns simulation: each unit's monthly report of offline no-reason returns (线下无理由退货)
for its roster of committed enterprises, with corrections now and then (the model is described in
`cei.synthetic`).

The roster sizes, store kinds and the spreadsheet styles are the feed's own.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from cei.feeds import FEEDS
from cei.synthetic.world import PINGTAN, Enterprise, File, Style, World, pad, trade_name, workday

_ROSTER = {"350100": 150, "350200": 160, "350300": 50, "350400": 35, "350500": 190, "350600": 90,
           "350700": 35, "350800": 45, "350900": 50, PINGTAN: 20}  # committed-return enterprises per unit
_STORE_KINDS = ("超市", "百货", "电器", "家居", "服饰", "母婴用品", "珠宝", "手机数码", "体育用品")
_RETURNS_HEADER = tuple(c.source for c in FEEDS["returns"].columns)


@dataclass(frozen=True)
class _Store:
    enterprise: Enterprise
    committed: date  # 承诺日期: it reports from that month on
    items: float  # typical returns per month
    price: float  # typical refund per item, yuan


def _style_returns(rng: random.Random) -> Style:
    return Style(index_col=rng.random() < 0.5, filler_row=rng.random() < 0.5,
                 month_cell=rng.choice(("dash", "cn", "date")), region_number=rng.random() < 0.6)


def _add_months(first: date, n: int) -> date:
    years, month = divmod(first.month - 1 + n, 12)
    return date(first.year + years, month + 1, 1)


def simulate(w: World) -> None:
    rng = w.rng
    factor = min(1.0, w.scale / 5000)  # full 20–200 rosters from scale 5000 on; small runs stay small
    rosters = {u: [_store(w, u) for _ in range(max(3, round(_ROSTER[u] * factor)))] for u in w.units}
    month = _add_months(w.days[0].replace(day=1), -1)
    while month < w.end:
        for unit in w.units:
            offset = w.profiles[unit].report_offset + rng.randint(-1, 2)
            delivered = workday(_add_months(month, 1) + timedelta(days=offset - 1), 0)
            if w.days[0] <= delivered < w.end:
                _returns_report(w, unit, month, delivered, rosters[unit])
        month = _add_months(month, 1)


def _store(w: World, unit: str) -> _Store:
    rng = w.rng
    region = w.region_in(unit)
    name = f"{region.name[:-1]}{trade_name(w.rng)}{rng.choice(_STORE_KINDS)}有限公司"
    return _Store(Enterprise(name, w.uscc(region.code), region.code),
                  committed=w.days[0] - timedelta(days=rng.randint(-60, 1500)),
                  items=rng.lognormvariate(math.log(12), 0.9), price=rng.lognormvariate(math.log(180), 0.8))


def _returns_report(w: World, unit: str, month: date, delivered: date, roster: list[_Store]) -> None:
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
    again = workday(delivered + timedelta(days=rng.randint(3, 12)), 0)
    if reported and rng.random() < 0.3 and again < w.end:  # a correction replaces a few enterprise-months
        g = w.file("returns", again, name + "（更正）.xlsx", _style_returns, header=_RETURNS_HEADER,
                   title=title + "（更正）", unit=unit, note=note)
        for store, items in rng.sample(reported, min(len(reported), rng.randint(1, 3))):
            fixed = max(0, items + rng.choice((-2, -1, 1, 2, 3))) or items + 1
            refund = Decimal(f"{fixed * store.price * rng.uniform(0.8, 1.2):.2f}")
            _returns_row(w, g, store, month, fixed, refund)


def _returns_row(w: World, f: File, store: _Store, month: date, items: int, refund: Decimal) -> None:
    look = w.look
    ent = store.enterprise
    month_end = _add_months(month, 1) - timedelta(days=1)
    month_cell: Any = {"dash": f"{month:%Y-%m}", "cn": f"{month.year}年{month.month}月",
                       "date": look.choice((month, month_end))}[f.style.month_cell]
    committed: Any = look.choices((store.committed, f"{store.committed:%Y-%m-%d}", ""), weights=(6, 3, 1))[0]
    values = {
        "企业名称": pad(look, ent.name), "统一社会信用代码": ent.uscc,
        "行政区划代码": int(ent.region) if f.style.region_number else ent.region, "报送月份": month_cell,
        "承诺日期": committed, "退货件数": items if look.random() < 0.85 else str(items),
        "退款金额（元）": float(refund) if look.random() < 0.85 else f"{refund:,.2f}",
    }
    model = {"统一社会信用代码": ent.uscc, "报送月份": month, "承诺日期": store.committed, "退货件数": items,
             "退款金额（元）": refund}
    w.row(f, values, model, (ent.uscc, month), None, {"items": items, "refund": refund})
