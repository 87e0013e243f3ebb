"""The inspection simulation: product-quality sampling inspections (流通领域商品质量抽检), delivered
when the result is known, some re-tested later (the model is described in `cei.synthetic`).

The inspected items per product category, the platforms and the CSV export style are the feed's own.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from cei.feeds import FEEDS
from cei.synthetic.world import (
    TS_FORMATS,
    Enterprise,
    Style,
    World,
    fmt_date,
    fmt_ts,
    is_workday,
    office_time,
    pad,
    trade_name,
    workday,
)

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
_INSPECTION_HEADER = tuple(c.source for c in FEEDS["inspection"].columns)


def _style_inspection(rng: random.Random) -> Style:
    return Style(encoding="utf-8-sig", newline=rng.choice(("\r\n", "\n")), ts=rng.choice(TS_FORMATS),
                 date=rng.choice(("dash", "slash")))


def simulate(w: World) -> None:
    rng = w.rng
    workdays = [d for d in w.days if is_workday(d)] or w.days
    for seq, day in enumerate(sorted(rng.choices(workdays, k=max(1, round(w.scale * 0.015)))), start=1):
        online = rng.random() < 0.4
        category = rng.choice(tuple(_INSPECTION_ITEMS))
        region = w.region()
        if online:  # a platform shop, registered (and sampled on behalf of) its home county
            platform = rng.choice(_PLATFORMS)
            name = f"{trade_name(w.rng)}{category}{rng.choice(('旗舰店', '专营店', '专卖店'))}"
            shop = Enterprise(name, w.uscc(region.code), region.code)
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
            "更新时间": office_time(rng, day),
        }
        _inspection_row(w, sample)
        if failed and rng.random() < 0.25:  # the enterprise asked for a re-test; it may overturn the result
            again = workday(day + timedelta(days=rng.randint(5, 20)), 0)
            if again < w.end:
                passed = rng.random() < 0.55
                _inspection_row(w, sample | {"检验结论": "合格" if passed else "不合格",
                                             "不合格项目": () if passed else items[:1],
                                             "更新时间": office_time(rng, again)})


def _inspection_row(w: World, sample: dict[str, Any]) -> None:
    day = sample["更新时间"].date()
    f = w.file("inspection", day, f"流通领域商品质量抽检_{day:%Y%m%d}.csv", _style_inspection,
               header=_INSPECTION_HEADER)
    values = {
        "抽样单编号": sample["抽样单编号"], "抽样日期": fmt_date(sample["抽样日期"], f.style.date),
        "行政区划代码": sample["行政区划代码"], "商品类别": sample["商品类别"],
        "销售渠道": sample["销售渠道"],
        "平台名称": sample["平台名称"] or "", "被抽样单位": pad(w.look, sample["被抽样单位"]),
        "统一社会信用代码": sample["统一社会信用代码"] or "", "检验结论": sample["检验结论"],
        "不合格项目": ";".join(sample["不合格项目"]), "更新时间": fmt_ts(sample["更新时间"], f.style.ts),
    }
    state = {"channel": sample["销售渠道"], "result": sample["检验结论"]}
    w.row(f, values, sample, (sample["抽样单编号"],), sample["更新时间"], state, f.style.ts)
