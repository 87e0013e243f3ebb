"""指数审计: the composite-indicator audit of the period (marts.mart_cei_audit)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

import xlsxwriter

from cei.export import catalogue as cat
from cei.export.catalogue import Catalogue
from cei.export.figures import AuditRow, Figures
from cei.export.workbook.context import Context
from cei.export.workbook.page import _finite, _Formats, _Sheet, _table_block
from cei.export.workbook.words import NO_DATA, _as_of_note, _title
from cei.index_audit import KURTOSIS_LIMIT, SKEW_LIMIT, WEAK_CORRELATION

# The audit's thresholds (cei.index_audit, after the JRC/COINr audits) are stated in its sheet.
GOOD_ALPHA = "0.7"  # Nunnally's rule of thumb, as the handbook cites it


# ---------------------------------------------------------------------------------------------
# 指数审计


class _Audit:
    """The audit rows by section, subject and measure, and the names of the codes they are about."""

    def __init__(self, rows: Iterable[AuditRow], catalogue: Catalogue):
        self.rows = tuple(rows)
        self.catalogue = catalogue
        self.by: dict[tuple[str, str, str | None, str], AuditRow] = {}
        self.subjects: dict[str, list[str]] = defaultdict(list)
        for r in self.rows:
            self.by[(r.section, r.subject, r.related, r.measure)] = r
            if r.subject not in self.subjects[r.section]:
                self.subjects[r.section].append(r.subject)

    def name(self, code: str) -> str:
        """The catalogue's name of an indicator, the index or a sub-index; else the code itself."""
        c = self.catalogue.by_code.get(code)
        return c.name if c else code

    def get(self, section: str, subject: str, measure: str, related: str | None = None) -> AuditRow | None:
        return self.by.get((section, subject, related, measure))

    def value(self, section: str, subject: str, measure: str, related: str | None = None) -> Decimal | None:
        r = self.get(section, subject, measure, related)
        return _finite(r.value) if r else None

    def correlation(self, a: str, b: str) -> AuditRow | None:
        return self.get("correlation", a, "pearson_r", b) or self.get("correlation", b, "pearson_r", a)

    def indicators(self) -> list[str]:
        """Scored indicators, in the seed's order (the indicator section's), then any others correlated."""
        codes = list(self.subjects["indicator"])
        for r in self.rows:
            if r.section == "correlation":
                for c in (r.subject, r.related):
                    if c and c not in codes and (known := self.catalogue.by_code.get(c)) and known.kind != "index":
                        codes.append(c)
        return codes

    def parent(self, indicator: str) -> str | None:
        """The indicator's sub-index: the one it is correlated with (cei.index_audit does so for its own)."""
        subs = {c.code for c in self.catalogue.sub_indices}
        for r in self.rows:
            if r.section == "correlation" and r.subject == indicator and r.related in subs:
                return r.related
        return None


FLAG_NAMES = {"skew_kurtosis": "偏度、峰度超限", "negative": "负相关", "weak": "弱相关",
              "single_indicator": "仅 1 个指标", "too_few_units": "参评单位不足"}


def _flag_mark(flag: str | None) -> str | None:
    return None if not flag else "bad" if flag == "negative" else "warn"


def _audit_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_AUDIT, fmt, figures, ctx)
    s.title(
        _title(figures, ctx, "消费环境指数统计审计"),
        _as_of_note(figures, ctx) + "按欧盟联合研究中心（JRC）与经合组织《综合指数编制手册》及 COINr 的统计审计方法，"
        "检查指标分布、指标间的一致性、分指数的实际权重及排名对方法选择的稳健性。审计结果供解读参考，不改变正式得分和排名。",
    )
    s.width(0, 20)
    for col in range(1, 10):
        s.width(col, 11)
    if not figures.audit:
        s.row += 1
        s.no_data("无审计数据")
        s.finish()
        return
    audit = _Audit(figures.audit, figures.catalogue)
    _audit_indicators(s, audit)
    _audit_correlations(s, audit)
    _audit_reliability(s, audit)
    _audit_weights(s, audit)
    _audit_sensitivity(s, audit)
    s.finish()


def _audit_indicators(s: _Sheet, audit: _Audit) -> None:
    s.section("一、指标数据检查")
    s.paragraph(f"各指标原始数值在有得分单位间的分布。偏度绝对值大于 {SKEW_LIMIT:g} 且峰度大于"
                f" {KURTOSIS_LIMIT:g} 时标记（JRC/COINr 规则）：少数极端值会主导 min–max 标准化，"
                "宜考虑缩尾或对数变换。")

    def write(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            known = audit.catalogue.by_code.get(code)
            style = "rate" if known and known.kind == "rate" else "value"
            flags = {a.flag for m in ("skewness", "kurtosis") if (a := audit.get("indicator", code, m)) and a.flag}
            s.text(r, 0, audit.name(code), wrap=True, fit=False)
            s.text(r, 1, audit.name(audit.parent(code) or ""), fit=False)
            s.number(r, 2, audit.value("indicator", code, "n"), "count")
            s.number(r, 3, audit.value("indicator", code, "missing_share"), "share")
            for col, m in ((4, "min"), (5, "max"), (6, "mean")):
                s.number(r, col, audit.value("indicator", code, m), style)
            for col, m in ((7, "skewness"), (8, "kurtosis")):
                a = audit.get("indicator", code, m)
                s.number(r, col, audit.value("indicator", code, m), "stat", _flag_mark(a.flag if a else None))
            remark = "、".join(FLAG_NAMES.get(f, f) for f in sorted(flags))
            s.text(r, 9, remark, s.fmt.marked("wrap", "warn" if remark else None), wrap=True, fit=False)
        return row

    _table_block(s, ["指标", "所属分指数", "有得分单位数", "缺失比例", "最小值", "最大值", "平均值", "偏度", "峰度",
                     "标记"], [write(c) for c in audit.subjects["indicator"]])


def _audit_correlations(s: _Sheet, audit: _Audit) -> None:
    s.section("二、相关性检查")
    s.paragraph("指标得分间的皮尔逊相关系数 r（得分已按方向调整，越高越好）。"
                "同一分指数内的指标之间、指标与所属分指数之间：r < 0 标为负相关（该指标与同组指标方向相反），"
                f"0 ≤ r < {WEAK_CORRELATION:g} 标为弱相关（对分指数贡献有限）；跨分指数及与消费环境指数的相关不作标记。"
                "有数据的单位少于 3 个或一方各单位相同时不计算（空白）。")
    codes = audit.indicators()
    if codes:
        s.paragraph("指标得分相关矩阵")

        def matrix_row(a: str) -> Callable[[int], None]:
            def row(r: int) -> None:
                s.text(r, 0, audit.name(a), s.fmt.key, wrap=True, fit=False)
                for j, b in enumerate(codes, start=1):
                    if a == b:
                        s.text(r, j, "—", s.fmt.number("band"), fit=False)
                        continue
                    c = audit.correlation(a, b)
                    s.number(r, j, _finite(c.value) if c else None, "stat", _flag_mark(c.flag if c else None))
            return row

        _table_block(s, ["指标", *(audit.name(c) for c in codes)], [matrix_row(c) for c in codes])

    def link_row(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            parent = audit.parent(code)
            own = audit.get("correlation", code, "pearson_r", parent) if parent else None
            s.text(r, 0, audit.name(code), wrap=True, fit=False)
            s.text(r, 1, audit.name(parent) if parent else "—", fit=False)
            s.number(r, 2, _finite(own.value) if own else None, "stat", _flag_mark(own.flag if own else None))
            s.number(r, 3, audit.value("correlation", code, "pearson_r", "cei"), "stat")
            flag = FLAG_NAMES.get(own.flag, own.flag) if own and own.flag else ""
            s.text(r, 4, flag, s.fmt.marked("text", _flag_mark(own.flag if own else None)), fit=False)
        return row

    subs = [c.code for c in audit.catalogue.sub_indices if audit.get("correlation", c.code, "pearson_r", "cei")]

    def sub_row(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            s.text(r, 0, audit.name(code), s.fmt.key, fit=False)
            s.text(r, 1, "（分指数）", fit=False)
            s.number(r, 2, None, "stat")
            s.number(r, 3, audit.value("correlation", code, "pearson_r", "cei"), "stat")
            s.text(r, 4, "", fit=False)
        return row

    s.paragraph("指标、分指数与上一级的相关")
    _table_block(s, ["指标 / 分指数", "所属分指数", "与所属分指数 r", "与消费环境指数 r", "标记"],
                 [link_row(c) for c in codes] + [sub_row(c) for c in subs])


def _audit_reliability(s: _Sheet, audit: _Audit) -> None:
    s.section("三、分指数内部一致性（Cronbach's α）")
    s.paragraph(f"分指数内各指标得分的内部一致性，α ≥ {GOOD_ALPHA} 通常视为一致；仅含 1 个指标的分指数不适用，"
                "有全部指标得分的单位少于 3 个时不计算。")
    members = defaultdict(int)
    for code in audit.indicators():
        members[audit.parent(code)] += 1

    def write(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            a = audit.get("reliability", code, "cronbach_alpha")
            alpha = _finite(a.value) if a else None
            if a and a.flag:
                remark, mark = FLAG_NAMES.get(a.flag, a.flag) + "，不适用", None
            elif alpha is None:
                remark, mark = "单位不足，未计算", None
            elif alpha >= Decimal(GOOD_ALPHA):
                remark, mark = f"一致（≥ {GOOD_ALPHA}）", None
            else:
                remark, mark = f"一致性偏低（< {GOOD_ALPHA}）", "warn"
            s.text(r, 0, audit.name(code), s.fmt.key, fit=False)
            s.number(r, 1, members.get(code) or None, "count")
            s.number(r, 2, alpha, "stat", mark)
            s.number(r, 3, audit.value("reliability", code, "n"), "count")
            s.text(r, 4, remark, s.fmt.marked("text", mark), fit=False, last_col=6)
        return row

    _table_block(s, ["分指数", "指标数", "Cronbach's α", "计算单位数", "说明"],
                 [write(c) for c in audit.subjects["reliability"]], span_to=6)


def _audit_weights(s: _Sheet, audit: _Audit) -> None:
    s.section("四、名义权重与有效权重")
    s.paragraph("名义权重为各分指数的规定权重占比；有效权重为该分指数对消费环境指数方差的贡献份额 "
                "w·cov(分指数, 指数) ÷ var(指数)，反映它实际对排名的影响（只计有全部分指数的单位）。")

    def write(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            s.text(r, 0, audit.name(code), s.fmt.key, fit=False)
            s.number(r, 1, audit.value("effective_weight", code, "nominal_weight"), "share")
            s.number(r, 2, audit.value("effective_weight", code, "effective_weight"), "share")
        return row

    _table_block(s, ["分指数", "名义权重", "有效权重"], [write(c) for c in audit.subjects["effective_weight"]])


def _audit_sensitivity(s: _Sheet, audit: _Audit) -> None:
    s.section("五、排名稳健性（敏感性分析）")
    s.paragraph("以另一种合理方法重算指数并排名：z-score 标准化（代替 min–max），加权几何平均（代替算术平均）。"
                "最大位移为两种方法下名次与正式名次之差的最大绝对值。模拟排名中位数及排名区间（P5–P95）"
                "来自各级权重 ±25% 随机扰动 1000 次。")
    units = {u.code: u for u in s.figures.units}
    subjects = [c for c in audit.subjects["sensitivity"] if c != "cei"]
    if any((a := audit.get("sensitivity", c, "max_shift")) and a.flag == "too_few_units" for c in [*subjects, "cei"]):
        limit = f"少于 {s.figures.rules.min_ranked_units} 个" if s.figures.rules else "过少"
        s.no_data(f"参评单位不足：本期有指数得分的单位{limit}，不做敏感性分析")
        return
    if not subjects:
        s.no_data(f"{NO_DATA}：本期没有单位有消费环境指数得分")
        return

    def write(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            u = units.get(code)
            cei = s.figures.row(code, "cei") if u else None
            s.text(r, 0, f"{u.name}（{code}）" if u else code, fit=False)
            s.number(r, 1, audit.value("sensitivity", code, "rank_official"), "rank")
            for col, attr in ((2, "rank_p50"), (3, "rank_p05"), (4, "rank_p95")):
                s.number(r, col, getattr(cei, attr) if cei else None, "band")
            s.number(r, 5, audit.value("sensitivity", code, "rank_zscore"), "rank")
            s.number(r, 6, audit.value("sensitivity", code, "rank_geometric"), "rank")
            s.number(r, 7, audit.value("sensitivity", code, "max_shift"), "rank")
        return row

    _table_block(s, ["单位", "正式排名", "模拟排名中位数", "排名区间 P5", "排名区间 P95",
                     "z-score 标准化排名", "几何平均排名", "最大位移"], [write(c) for c in subjects])
    shift = audit.value("sensitivity", "cei", "max_shift")
    if shift is not None:
        s.paragraph(f"全部单位的最大位移：{shift.normalize():f} 位。")
