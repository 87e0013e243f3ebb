"""The ODR simulation: online consumer disputes (在线消费纠纷解决) filed against merchants with a long
tail of popularity, each delivered again on every night it changes (the model is described in
`cei.synthetic`).

The merchants' trades, the closing statuses' weights and the JSON Lines export styles are the feed's own.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from cei.feeds import FEEDS
from cei.synthetic.world import (
    Enterprise,
    Style,
    UnitProfile,
    World,
    after,
    amount,
    any_time,
    fmt_iso,
    json_number,
    pick,
    trade_name,
    versions,
)

_OPEN = "处理中"  # the declared status of a dispute not yet closed
# How a dispute closes: the other declared statuses, weighted in the declaration's order.
_CLOSINGS = tuple(zip((s for s in FEEDS["odr"].column("status").choices if s != _OPEN), (64, 22, 14),
                      strict=True))
_ODR_SUFFIX = ("电子商务有限公司", "网络科技有限公司", "商贸有限公司", "餐饮管理有限公司", "旅行社有限公司",
               "教育科技有限公司", "家居有限公司")


def _style_odr(rng: random.Random) -> Style:
    return Style(newline=rng.choices(("\n", "\r\n"), weights=(85, 15))[0], fraction=rng.random() < 0.2,
                 ascii_json=rng.random() < 0.2, extra_keys=rng.random() < 0.5)


def simulate(w: World) -> None:
    rng = w.rng
    count = max(1, round(w.scale * 0.08))
    merchants = [_odr_merchant(w) for _ in range(max(8, count // 12))]
    popularity = [1 / (i + 1) ** 0.9 for i in range(len(merchants))]  # a few platforms' shops dominate
    cum = list(itertools.accumulate(1.0 if d.weekday() < 5 else 0.9 for d in w.days))
    per_day: Counter[date] = Counter()
    for filed in sorted(any_time(rng, d) for d in rng.choices(w.days, cum_weights=cum, k=count)):
        per_day[filed.date()] += 1
        merchant = rng.choices(merchants, weights=popularity)[0]
        dispute = {
            "dispute_id": f"ODR{filed:%Y%m%d}{per_day[filed.date()]:05d}", "enterprise_uscc": merchant.uscc,
            "enterprise_name": merchant.name, "region_code": merchant.region, "filed_at": filed,
            "closed_at": None, "status": _OPEN,
            "amount": amount(rng, 350, 1.1) if rng.random() < 0.88 else None, "updated_at": filed,
        }
        profile = w.profiles[w.unit_of[merchant.region]]
        for snap in versions(w, dispute, "filed_at", "updated_at", _dispute_events(w, filed, profile)):
            _odr_row(w, snap)


def _odr_merchant(w: World) -> Enterprise:
    region = w.region()
    name = f"{region.city_name[:-1]}{trade_name(w.rng)}{w.rng.choice(_ODR_SUFFIX)}"
    return Enterprise(name, w.uscc(region.code), region.code)


def _dispute_events(w: World, filed: datetime,
                    profile: UnitProfile) -> list[tuple[datetime, dict[str, Any]]]:
    rng = w.rng
    wait = min(int(rng.lognormvariate(math.log(4), 0.8)), 40)
    close = after(rng, filed, any_time(rng, filed.date() + timedelta(days=wait)))
    events: list[tuple[datetime, dict[str, Any]]] = []
    if rng.random() < 0.4:  # the merchant answered on an earlier day: an update while still open
        reply = after(rng, filed, any_time(rng, filed.date() + timedelta(days=rng.randint(1, 3))))
        if reply.date() < close.date():
            events.append((reply, {}))
    shift = 60 * (profile.mediation - 0.6)
    status = pick(rng, tuple((s, max(1.0, wt + shift if s == "和解成功" else wt)) for s, wt in _CLOSINGS))
    events.append((close, {"closed_at": close, "status": status}))
    return events


def _odr_row(w: World, snap: dict[str, Any]) -> None:
    look = w.look
    day = snap["updated_at"].date()
    f = w.file("odr", day, f"odr_disputes_{day:%Y%m%d}.jsonl", _style_odr)
    values: dict[str, Any] = {
        "dispute_id": snap["dispute_id"], "enterprise_uscc": snap["enterprise_uscc"],
        "enterprise_name": snap["enterprise_name"],
        "region_code": int(snap["region_code"]) if look.random() < 0.1 else snap["region_code"],
        **{k: None if snap[k] is None else fmt_iso(snap[k], f.style.fraction)
           for k in ("filed_at", "closed_at")},
        "status": snap["status"], "amount": json_number(snap["amount"]),
        "updated_at": fmt_iso(snap["updated_at"], f.style.fraction),
    }
    if f.style.extra_keys:  # keys the feed does not declare: ignored by the reader
        values |= {"platform": "全国12315平台", "batch_no": f"{day:%Y%m%d}-01"}
    w.row(f, values, snap, (snap["dispute_id"],), snap["updated_at"], {"status": snap["status"]})
