"""The defects a generation injects (see "Defects" in `cei.synthetic`): per feed the row defect
classes, each an injector that changes one thing and returns the code the ingestion will record; the
placing of exact duplicates; and the whole-file defects.

Everything here draws from the world's defect stream only, so the business model is the same whatever
the defect rate.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from stdnum.cn import uscc as stdnum_uscc

from cei.synthetic.hotline import HOTLINE_HEADER
from cei.synthetic.world import USCC_ALPHABET, Artifact, File, Row, Style, World, fmt_iso, fmt_ts, make_uscc
from cei.synthetic.writers import csv_bytes

# ------------------------------------------------------------------------------------------------
# Row defects: each injector changes one thing and returns the code the ingestion will record
# (a quarantine reason, or "<code>:<column>" for a warning), or None when the row has nothing to break.

_Injector = Callable[[Row, random.Random], "str | None"]
_DROP = object()  # JSONL: the key is left out altogether
_BAD_REGIONS = ("330102", "110105", "350182", "350199", "35010", "３５０１０２", "3501O2")  # 350182: retired
_BAD_NUMBERS = ("约2000元", "2千", "1,23.50", "¥300", "300元", "N/A")


def _present(value: Any) -> bool:
    return value is not None and value != "" and not (isinstance(value, str) and not value.strip())


def _missing(columns: tuple[str, ...], blanks: tuple[Any, ...] = ("", " ", "\u3000")) -> _Injector:
    def inject(row: Row, rng: random.Random) -> str:
        column, blank = rng.choice(columns), rng.choice(blanks)
        if blank is _DROP:
            row.values.pop(column, None)
        else:
            row.values[column] = blank
        return "missing_required"

    return inject


def _replace(column: str, bad: tuple[Any, ...], code: str) -> _Injector:
    def inject(row: Row, rng: random.Random) -> str:
        row.values[column] = rng.choice(bad)
        return code

    return inject


def _bad_enum(options: tuple[tuple[str, tuple[str, ...]], ...],
              only_if_set: tuple[str, ...] = ()) -> _Injector:
    def inject(row: Row, rng: random.Random) -> str:
        usable = [(c, bad) for c, bad in options if c not in only_if_set or _present(row.values.get(c))]
        column, bad = rng.choice(usable)
        row.values[column] = rng.choice(bad)
        return "bad_enum"

    return inject


def _bad_timestamp(columns: tuple[str, ...]) -> _Injector:
    def inject(row: Row, rng: random.Random) -> str | None:
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
    def inject(row: Row, rng: random.Random) -> str:
        d: date = row.model[column]
        row.values[column] = rng.choice((f"{d.year}-{d.month:02d}-32", f"{d.year}年{d.month}月{d.day}日",
                                         f"{d:%d/%m/%Y}", f"{d.year}-02-30", "长期"))
        return "bad_date"

    return inject


def _bad_month(row: Row, rng: random.Random) -> str:
    m: date = row.model["报送月份"]
    row.values["报送月份"] = rng.choice((f"{m.year}年13月", "七月", f"{m.year}.{m.month:02d}",
                                      f"{m.month}/{m.year}"))
    return "bad_month"


def _negative(columns: tuple[str, ...], text: bool) -> _Injector:
    def inject(row: Row, rng: random.Random) -> str:
        column = rng.choice(columns)
        magnitude = row.model.get(column) or Decimal(rng.randint(1, 3000))
        row.values[column] = f"-{magnitude:,.2f}" if text else -float(magnitude)
        return "negative_value"

    return inject


def _before(column: str, anchor: str, code: str, render: Callable[[datetime, Row], str]) -> _Injector:
    """`column` set earlier than `anchor` (closed before registered, accepted before registered …)."""

    def inject(row: Row, rng: random.Random) -> str | None:
        if not _present(row.values.get(column)):
            return None
        row.values[column] = render(row.model[anchor] - timedelta(hours=rng.randint(1, 72)), row)
        return code

    return inject


def _bad_uscc(column: str, code: str) -> _Injector:
    def inject(row: Row, rng: random.Random) -> str:
        row.values[column] = _corrupt_uscc(rng, row.model.get(column) or make_uscc(rng, "350100"))
        return code

    return inject


def _corrupt_uscc(rng: random.Random, valid: str) -> str:
    while True:
        how = rng.randrange(3)
        if how == 0:  # a wrong check digit
            bad = valid[:17] + rng.choice(USCC_ALPHABET.replace(valid[17], ""))
        elif how == 1:  # a character lost in typing
            i = rng.randrange(18)
            bad = valid[:i] + valid[i + 1:]
        else:  # letters outside the code alphabet
            i = rng.randrange(8, 17)
            bad = valid[:i] + rng.choice("IOSZ") + valid[i + 1:]
        if not stdnum_uscc.is_valid(bad):
            return bad


def _row_shape(row: Row, rng: random.Random) -> str:
    row.shape = rng.choice((1, -1))
    return "bad_row_shape"


def _bad_json(row: Row, rng: random.Random) -> str:
    text = json.dumps(row.values, ensure_ascii=False)
    row.line = rng.choice((
        text[: rng.randrange(5, len(text) - 1)],  # cut off mid-record
        text.replace('"', "'"),  # a hand-written export with single quotes
        text[:-1] + ",}",  # a trailing comma
    ))
    return "bad_json"


_REPEAT = "exact duplicate"


def _duplicate(row: Row, rng: random.Random) -> str:
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
        _before("办结时间", "登记时间", "closed_before_registered", lambda t, row: fmt_ts(t, row.ts)),
        _before("受理时间", "登记时间", "accepted_before_registered", lambda t, row: fmt_ts(t, row.ts)),
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
        _before("closed_at", "filed_at", "closed_before_filed", lambda t, row: fmt_iso(t, False)),
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


def inject_row_defects(w: World, rate: float) -> None:
    """About `rate` of the rows get one defect each. Classes are dealt from a shuffled bag per feed, so
    they come out balanced and every class appears once a feed has that many defects, even in a small
    feed; a class that does not apply to the row (closed before registered on an open order) waits."""
    rng = w.defects
    bags: dict[str, list[_Injector]] = {feed: [] for feed in _DEFECTS}
    copies: list[tuple[File, Row]] = []
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


def _place_duplicate(w: World, f: File, row: Row, rng: random.Random) -> None:
    """The same record again: later in its file, or in a later delivery of the feed (same unit)."""
    copy = replace(row, values=dict(row.values))
    later = [g for g in w.files.values() if g.feed == f.feed and g.day > f.day and g.unit == f.unit]
    if later and rng.random() < 0.5:
        target = rng.choice(later)
        target.rows.insert(rng.randint(0, len(target.rows)), copy)
    else:
        f.rows.insert(rng.randint(f.rows.index(row) + 1, len(f.rows)), copy)


# ------------------------------------------------------------------------------------------------
# File defects


def file_defects(w: World, artifacts: list[Artifact], rate: float) -> list[Artifact]:
    rng = w.defects
    hotline = [a for a in artifacts if a.feed == "hotline"]
    copyable = [a for a in artifacts if a.day < w.days[-1]]
    gb = Style(encoding="gb18030", newline="\r\n")
    extra = []
    for k in range(1, max(1, round(rate * len(w.days) / 20)) + 1):
        if hotline:
            a = rng.choice(hotline)
            header = tuple(c for c in HOTLINE_HEADER if c != "登记时间")
            data = csv_bytes(header, a.rows[:20], gb)[0]
            extra.append(Artifact("hotline", a.day, f"{Path(a.name).stem}_补传{k}.csv", data,
                                  defect="missing columns: 登记时间"))
            b = rng.choice(hotline)
            data = csv_bytes(HOTLINE_HEADER, b.rows[:20], gb)[0]
            cut = data.index(b"\n") + 1  # bytes valid in neither UTF-8 nor GB18030 open the first record
            extra.append(Artifact("hotline", b.day, f"{Path(b.name).stem}_重发{k}.csv",
                                  data[:cut] + b"\xff\xfe\xff" + data[cut:], defect="undecodable"))
        feed, stem = rng.choice((("hotline", "12315工单"), ("inspection", "流通领域商品质量抽检")))
        day = rng.choice(w.days)
        extra.append(Artifact(feed, day, f"{stem}_{day:%Y%m%d}_补充{k}.csv", b"", defect="empty file"))
        day, unit = rng.choice(w.days), rng.choice(w.units)
        html = (f"<html><body><table><tr><td>企业名称</td><td>统一社会信用代码</td></tr></table>"
                f"<p>{w.unit_names[unit]}</p></body></html>")  # an HTML export renamed .xlsx
        extra.append(Artifact("returns", day, f"{w.unit_names[unit]}_退货统计_导出{k}.xlsx",
                              html.encode("utf-8"), defect="not an XLSX workbook"))
        if copyable:  # the same file delivered again on a later night
            a = copyable.pop(rng.randrange(len(copyable)))
            again = min(a.day + timedelta(days=rng.randint(1, 7)), w.days[-1])
            extra.append(Artifact(a.feed, again, a.name, a.data, a.rows, a.row_numbers))
    return extra
