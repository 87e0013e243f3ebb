"""The hotline simulation: 12315 / 12345 work orders from registration to callback, each delivered
again on every night it changes (the model is described in `cei.synthetic`).

The realism tables here (kinds, channels, categories, respondents' trades, callbacks) and the export
styles of the two systems are the hotline's alone.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from cei.feeds import FEEDS
from cei.synthetic.world import (
    PINGTAN,
    TS_FORMATS,
    Style,
    UnitProfile,
    World,
    after,
    amount,
    any_time,
    fmt_amount,
    fmt_ts,
    is_workday,
    office_time,
    pad,
    pick,
    versions,
    workday,
)

# Not read from the declaration: its order (咨询, 投诉, 举报) would change every draw.
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
# The declared callback results, then None (no callback), weighted in that order: the unit's
# satisfaction shift moves weight between 满意 [0] and 不满意 [2].
_CALLBACKS = (*FEEDS["hotline"].column("callback").choices, None)
_CALLBACK_WEIGHTS = (80, 8, 5, 4, 3)

HOTLINE_HEADER = tuple(c.source for c in FEEDS["hotline"].columns)


def _style_12315(rng: random.Random) -> Style:
    return Style(encoding=rng.choices(("gb18030", "utf-8-sig", "utf-8"), weights=(80, 10, 10))[0],
                 newline=rng.choices(("\r\n", "\n"), weights=(70, 30))[0], quote_all=rng.random() < 0.2,
                 ts=rng.choices(TS_FORMATS[:3], weights=(60, 25, 15))[0])


def _style_12345(rng: random.Random) -> Style:
    return Style(encoding=rng.choices(("utf-8", "utf-8-sig", "gb18030"), weights=(50, 30, 20))[0],
                 newline=rng.choices(("\n", "\r\n"), weights=(70, 30))[0],
                 ts=rng.choices(("slash_short", "slash_s", "dash_m"), weights=(60, 20, 20))[0])


def simulate(w: World) -> None:
    rng = w.rng
    cum = list(itertools.accumulate(1.0 if is_workday(d) else 0.55 for d in w.days))
    registrations = []
    for day in rng.choices(w.days, cum_weights=cum, k=w.scale):
        channel = pick(rng, _CHANNELS)
        t = any_time(rng, day) if channel in _ONLINE_CHANNELS else office_time(rng, day)
        registrations.append((t, channel))
    registrations.sort()
    per_day: Counter[date] = Counter()
    for reg, channel in registrations:
        per_day[reg.date()] += 1
        order = _new_work_order(w, f"GD{reg:%Y%m%d}{per_day[reg.date()]:05d}", reg, channel)
        profile = w.profiles[w.unit_of[order["行政区划代码"]]]
        for snap in versions(w, order, "登记时间", "更新时间", _work_order_events(w, order, profile)):
            _hotline_row(w, snap)


def _new_work_order(w: World, order_id: str, reg: datetime, channel: str) -> dict[str, Any]:
    rng = w.rng
    kind = pick(rng, _KINDS)
    category = pick(rng, _CATEGORIES)
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
        disputed = amount(rng, 600, 1.3)
    consumer, phone = w.consumer()
    if kind == "投诉" and (serial := w.serial_caller()):
        consumer, phone = serial
    return {
        "工单编号": order_id, "诉求类型": kind, "来源渠道": channel, "登记时间": reg, "受理时间": None,
        "办结时间": None, "更新时间": reg, "行政区划代码": code, "承办单位": unit, "被诉主体": name,
        "统一社会信用代码": respondent.uscc if respondent and rng.random() < 0.75 else None,
        "商品服务类别": category,
        "是否涉旅": rng.random() < _TOURISM_SHARE.get(category.split(",")[0], 0.01),
        "争议金额": disputed, "挽回经济损失": None, "办理结果": None, "回访结果": None,
        "消费者姓名": consumer, "消费者电话": phone,
    }


def _work_order_events(w: World, order: dict[str, Any],
                       profile: UnitProfile) -> list[tuple[datetime, dict[str, Any]]]:
    """Acceptance, closure and callback, in order; some fall after the window and never arrive."""
    rng = w.rng
    reg: datetime = order["登记时间"]
    kind = order["诉求类型"]
    events: list[tuple[datetime, dict[str, Any]]] = []
    if kind == "咨询":
        if rng.random() < 0.85:
            close = reg + timedelta(minutes=rng.randint(3, 180))
        else:
            close = after(rng, reg, office_time(rng, workday(reg.date(), rng.randint(1, 3))))
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
        accept = after(rng, reg, office_time(rng, workday(reg.date(), delay)))
        if kind == "投诉" and rng.random() < 0.08:
            events.append((accept, {"受理时间": accept, "办结时间": accept, "办理结果": "不予受理"}))
        else:
            events.append((accept, {"受理时间": accept}))
            close, outcome = _closure(w, order, accept, profile)
            changes: dict[str, Any] = {"办结时间": close, "办理结果": outcome}
            if outcome == "调解成功":  # part or all of the disputed amount recovered
                base = order["争议金额"] or (amount(rng, 300, 1.0) if rng.random() < 0.2 else None)
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
        at = after(rng, close_time, office_time(rng, workday(close_time.date(), rng.randint(1, 5))))
        events.append((at, {"回访结果": callback}))
    return events


def _closure(w: World, order: dict[str, Any], accept: datetime,
             profile: UnitProfile) -> tuple[datetime, str]:
    rng = w.rng
    if order["诉求类型"] == "举报":  # verified within 15 working days, mostly
        days = rng.randint(1, 15) if rng.random() < 0.85 else rng.randint(16, 30)
        outcome = "已立案" if rng.random() < 0.25 else "不予立案"
    else:  # mediation: median ~6 working days, a tail beyond the 45-day limit
        days = min(int(rng.lognormvariate(math.log(6), 0.9)), 50)
        r = rng.random()
        outcome = "调解成功" if r < profile.mediation else "调解终止" if r < 0.86 else "撤回投诉"
    return after(rng, accept, office_time(rng, workday(accept.date(), days))), outcome


def _hotline_row(w: World, snap: dict[str, Any]) -> None:
    look = w.look
    day = snap["更新时间"].date()
    twelve345 = snap["来源渠道"] == "12345转办"
    if twelve345:
        f = w.file("hotline", day, f"12345转办工单_{day:%Y%m%d}.csv", _style_12345,
                   header=(*HOTLINE_HEADER, "转办单号"))
    else:
        f = w.file("hotline", day, f"12315工单_{day:%Y%m%d}.csv", _style_12315, header=HOTLINE_HEADER)
    # Letters and visits are typed in by hand: some rows use another timestamp form.
    form = look.choice(TS_FORMATS) if look.random() < 0.05 else f.style.ts
    phone = snap["消费者电话"]
    phone_text = look.choices((phone, f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"+86 {phone}"),
                              weights=(90, 6, 4))[0]
    values = {
        "工单编号": snap["工单编号"], "诉求类型": pad(look, snap["诉求类型"]), "来源渠道": snap["来源渠道"],
        **{c: "" if snap[c] is None else fmt_ts(snap[c], form)
           for c in ("登记时间", "受理时间", "办结时间", "更新时间")},
        "行政区划代码": pad(look, snap["行政区划代码"]), "承办单位": snap["承办单位"],
        "被诉主体": pad(look, snap["被诉主体"] or ""), "统一社会信用代码": snap["统一社会信用代码"] or "",
        "商品服务类别": pad(look, snap["商品服务类别"]),
        "是否涉旅": "是" if snap["是否涉旅"] else look.choice(("否", "否", "否", "")),
        "争议金额": fmt_amount(look, snap["争议金额"]),
        "挽回经济损失": fmt_amount(look, snap["挽回经济损失"]),
        "办理结果": snap["办理结果"] or "", "回访结果": snap["回访结果"] or "",
        "消费者姓名": pad(look, snap["消费者姓名"]), "消费者电话": phone_text,
    }
    if twelve345:
        values["转办单号"] = "ZB" + snap["工单编号"][2:]
    state = {"kind": snap["诉求类型"], "outcome": snap["办理结果"] or "open"}
    w.row(f, values, snap, (snap["工单编号"],), snap["更新时间"], state, form)
