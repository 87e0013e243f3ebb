"""The quality suite files in expectations/: they parse, and every expectation is reviewable."""

import json
import re

import pytest
import yaml

from cei import quality
from cei.errors import CeiError
from cei.feeds import FEEDS
from cei.quality import assets, outcomes, suites
from cei.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR

SUITES = sorted(EXPECTATIONS_DIR.glob("*.json"))
RAW_SUITES = [p for p in SUITES if p.stem.startswith("raw_")]
MARTS_SUITES = [p for p in SUITES if p.stem.startswith("marts.")]
# The published marts every build must test (indicators.md, analyst-facing marts): their
# invariants are dbt's data tests, the marts gate holds the review warning before publication.
REQUIRED_MARTS = {"fct_work_orders", "fct_odr_disputes", "fct_return_reports", "fct_inspection_samples",
                  "mart_indicator_monthly", "mart_indicator_period", "mart_cei"}
MARTS_YML = DBT_PROJECT_DIR / "models" / "marts" / "_marts.yml"


def marts_data_tests() -> dict[str, list[tuple[str, dict]]]:
    """Per mart of _marts.yml, its data tests: (test, its arguments and config), column tests
    with their `column`."""
    out: dict[str, list[tuple[str, dict]]] = {}
    for model in yaml.safe_load(MARTS_YML.read_text(encoding="utf-8"))["models"]:
        found = out[model["name"]] = []
        for column, tests in [(None, model.get("data_tests") or []),
                              *[(c["name"], c.get("data_tests") or []) for c in model.get("columns") or []]]:
            for test in tests:
                name, spec = (test, {}) if isinstance(test, str) else next(iter(test.items()))
                found.append((name, {"column": column, **(spec.get("arguments") or {}), **(spec.get("config") or {})}))
    return out


def test_there_is_a_suite_for_every_feed_and_the_marts_gate():
    assert {quality.suite_path(feed) for feed in FEEDS} == set(RAW_SUITES)
    marts = {quality.load_suite(p).target: quality.load_suite(p) for p in MARTS_SUITES}
    # the marts gate refuses to run without a suite (CeiError): it holds the review warning
    assert "mart_indicator_monthly" in marts and not marts["mart_indicator_monthly"].optional
    assert set(RAW_SUITES) | set(MARTS_SUITES) == set(SUITES), "every suite file is raw_<feed> or marts.<table>"
    tested = marts_data_tests()
    assert all(tested.get(t) for t in REQUIRED_MARTS), "every published mart has its dbt tests"


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_suite_file_parses_and_names_what_it_checks(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["name"] == path.stem
    if path.stem.startswith("raw_"):
        assert path.stem.removeprefix("raw_") in FEEDS
    else:
        assert doc["meta"]["table"] == "marts." + path.stem.removeprefix("marts.")
    assert doc["expectations"], "a suite with no expectations checks nothing"


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_every_expectation_has_a_severity_a_description_and_a_reason(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    for item in doc["expectations"]:
        label = f"{path.name}: {item.get('type')} {item.get('kwargs')}"
        assert item.get("severity") in {"critical", "warning"}, label
        assert item.get("description", "").strip(), f"{label}: no description for the steward"
        assert item.get("notes"), f"{label}: no notes justifying it"
        suite = quality.load_suite(path)
        assert (item.get("meta") or {}).get("asset", suite.default_asset) in suite.asset_names, label


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_suite_loads_into_valid_gx_expectations_on_existing_columns(path):
    suite = quality.load_suite(path)
    if suite.kind == "raw":
        assets.check_columns(suite, FEEDS[suite.target])
    built = [e for asset in suite.asset_names for e in suites.gx_expectations(suite, asset)]
    assert len(built) == len(suite.expectations)
    # GX's own severity field carries ours.
    assert [e.severity.value for e in built] == [
        item["severity"] for asset in suite.asset_names for item in suite.for_asset(asset)
    ]


@pytest.mark.parametrize("path", MARTS_SUITES, ids=lambda p: p.name)
def test_marts_suites_query_only_the_validated_schema(path):
    suite = quality.load_suite(path)
    for name in suite.assets:
        query = assets.marts_query(suite, name, "marts__build")
        assert "{schema}" not in query and '"marts__build".' in query
        assert " marts." not in query, f"{name}: reads the published marts instead of the build"
    for item in suite.expectations:
        if item["meta"]["asset"] != suites.TABLE_ASSET:
            wanted = assets.referenced_columns([item])
            query = assets.marts_query(suite, item["meta"]["asset"], "s")
            assert query.startswith(f'select * from "s".{suite.target}\n') or all(c in query for c in wanted), (
                item["type"])


def test_the_issue_examples_are_covered_with_their_severity():
    """Issue 5: what the gates must catch, and how hard."""

    def find(suite: str, column: str, asset: str | None = None) -> list[dict]:
        loaded = quality.load_suite(EXPECTATIONS_DIR / f"{suite}.json")
        return [e for e in loaded.expectations
                if column in assets.referenced_columns([e]) and asset in (None, e["meta"]["asset"])]

    def severities(suite: str, column: str, asset: str | None = None) -> set[str]:
        return {e["severity"] for e in find(suite, column, asset)}

    for feed in ("hotline", "odr"):  # a collapsed night stops the daily feeds
        assert "critical" in severities(f"raw_{feed}", "volume_ratio", "volume")
    assert severities("raw_inspection", "volume_ratio") == {"warning"}
    for feed in FEEDS:
        assert "critical" in severities(f"raw_{feed}", "batch_unknown_region_share")
        assert "critical" in severities(f"raw_{feed}", "batch_quarantined_share")
    assert severities("marts.mart_indicator_monthly", "change_points") == {"warning"}
    # the marts' invariants are dbt's data tests, each of severity error (dbt's default): a failure
    # fails the build, and nothing is published (tests/integration/test_publish.py plants each)
    tested = marts_data_tests()

    def dbt_test(mart: str, test: str, **arguments) -> dict:
        found = [a for t, a in tested[mart] if t == test and arguments.items() <= a.items()]
        assert len(found) == 1, (mart, test, arguments)
        assert found[0].get("severity", "error") == "error", (mart, test, arguments)
        return found[0]

    for period_mart in ("mart_indicator_monthly", "mart_indicator_period"):
        dbt_test(period_mart, "expression_is_true", expression="value between 0 and 1")
        dbt_test(period_mart, "expression_is_true", expression="denominator is null or case when denominator = 0"
                 " then value is null else abs(value - numerator / denominator) <= 0.000001 end")
    dbt_test("mart_indicator_monthly", "every_unit_each_month")
    assert (DBT_PROJECT_DIR / "tests" / "assert_every_unit_each_period.sql").exists()  # period and index marts
    dbt_test("mart_cei", "expression_is_true", expression="score between 0 and 100")
    for table, key in [("fct_work_orders", "work_order_id"), ("fct_odr_disputes", "dispute_id"),
                       ("fct_inspection_samples", "sample_id")]:
        dbt_test(table, "unique", column=key)
    dbt_test("fct_return_reports", "unique_combination", columns=["enterprise_uscc", "report_month"])
    # an assessment unit is a row of dim_unit (seeds/ref_units.csv), never a list written in a test
    for mart in REQUIRED_MARTS:
        dbt_test(mart, "relationships", column="unit_code", to="ref('dim_unit')")
    dbt_test("dim_unit", "relationships", column="unit_code", to="ref('ref_units')")


def test_the_marts_do_not_test_the_feeds_accepted_values_again():
    """The feeds gate checks them on arrival (raw_<feed>.json, from the feed declarations)."""
    for mart, tests in marts_data_tests().items():
        if mart.startswith("fct_"):
            assert [a["column"] for t, a in tests if t == "accepted_values"] == [], mart


def test_hotline_suite_covers_the_contract():
    suite = quality.load_suite(quality.suite_path("hotline"))
    critical = {(e["type"], json.dumps(e["kwargs"], sort_keys=True, ensure_ascii=False))
                for e in suite.expectations if e["severity"] == "critical"}
    kinds = {t for t, _ in critical}
    assert "expect_column_pair_values_a_to_be_greater_than_b" in kinds
    assert any('"kind"' in k and "举报" in k for _, k in critical)
    assert any("^35[0-9]{4}$" in k for _, k in critical)
    assert any("batch_quarantined_share" in k for _, k in critical)
    warning_types = {e["type"] for e in suite.expectations if e["severity"] == "warning"}
    assert "expect_table_row_count_to_be_between" in warning_types


def _write(tmp_path, expectations, name="raw_hotline", **extra):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "expectations": expectations, **extra}), encoding="utf-8")
    return path


NOT_NULL = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "work_order_id"}}


@pytest.mark.parametrize(
    ("expectations", "message"),
    [
        ([NOT_NULL], "severity"),  # GX would default it to critical; we want it written down
        ([{**NOT_NULL, "severity": "info"}], "severity"),
        ([{**NOT_NULL, "severity": "warning", "meta": {"asset": "elsewhere"}}], "meta.asset"),
        ([], "non-empty"),
    ],
)
def test_a_suite_without_a_clear_severity_or_asset_is_refused(tmp_path, expectations, message):
    with pytest.raises(CeiError, match=message):
        quality.load_suite(_write(tmp_path, expectations))


def test_a_suite_whose_name_is_not_its_file_name_is_refused(tmp_path):
    path = _write(tmp_path, [{**NOT_NULL, "severity": "critical"}], name="raw_hotline")
    path.rename(tmp_path / "raw_odr.json")
    with pytest.raises(CeiError, match="name"):
        quality.load_suite(tmp_path / "raw_odr.json")


def test_a_misspelt_expectation_or_column_fails_loudly(tmp_path):
    # GX's ExpectationSuite(...) would log and silently drop the first; we refuse it.
    bad_kwargs = quality.load_suite(_write(tmp_path, [{**NOT_NULL, "kwargs": {"colum": "x"}, "severity": "warning"}]))
    with pytest.raises(CeiError, match="not a valid expectation"):
        suites.gx_expectations(bad_kwargs, "rows")
    bad_column = quality.load_suite(
        _write(tmp_path, [{**NOT_NULL, "kwargs": {"column": "work_order"}, "severity": "warning"}])
    )
    with pytest.raises(CeiError, match="no column work_order"):
        assets.check_columns(bad_column, FEEDS["hotline"])


@pytest.mark.parametrize(
    ("libpq", "sqlalchemy"),
    [
        ("postgresql://postgres:@/cei?host=/tmp/x/pgdata", "postgresql+psycopg2://postgres:@/cei?host=%2Ftmp%2Fx%2Fpgdata"),
        ("postgresql://u:p%40ss@db:6543/cei?sslmode=require", "postgresql+psycopg2://u:p%40ss@db:6543/cei?sslmode=require"),
        ("postgres://u@db/cei", "postgresql+psycopg2://u@db/cei"),
        ("postgresql+psycopg://u@db/cei", "postgresql+psycopg://u@db/cei"),
    ],
)
def test_libpq_urls_become_sqlalchemy_urls(libpq, sqlalchemy):
    assert quality.sqlalchemy_url(libpq) == sqlalchemy


def test_batch_ids_are_integers_never_text():
    assert assets.file_ids_of([3, 1, 3]) == [1, 3]
    for bad in (["1; drop table x"], [1.5], [True]):
        with pytest.raises(TypeError):
            assets.file_ids_of(bad)
    query = assets.rows_query(FEEDS["hotline"], [1, 3], ["kind"])
    assert query.endswith("where load_file_id in (1, 3)")


ROW_COUNT = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "severity": "critical"}


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("marts.fct_x", {"assets": {"table": {"query": "select 1 from {schema}.x"}}}, "other than 'table'"),
        ("marts.fct_x", {"assets": {"bad": {"query": "select 1 from marts.x"}}}, "over {schema}"),
        ("marts.fct_x", {"assets": {"bad": {"query": "delete from {schema}.x"}}}, "one select statement"),
        ("marts.fct_x", {"assets": {"bad": {"query": "select 1 from {schema}.x; drop table y"}}}, "one select"),
        ("marts.Fct-X", {}, "lower_snake_case"),
        ("elsewhere", {}, "raw_<feed> or marts.<table>"),
    ],
)
def test_a_marts_suite_with_a_bad_name_or_query_asset_is_refused(tmp_path, name, extra, message):
    with pytest.raises(CeiError, match=re.escape(message)):
        quality.load_suite(_write(tmp_path, [ROW_COUNT], name=name, **extra))


def test_a_marts_expectation_on_an_undeclared_asset_is_refused(tmp_path):
    item = {**ROW_COUNT, "meta": {"asset": "rates"}}
    with pytest.raises(CeiError, match=r"meta\.asset"):
        quality.load_suite(_write(tmp_path, [item], name="marts.fct_x"))
    ok = quality.load_suite(_write(tmp_path, [item], name="marts.fct_x",
                                   assets={"rates": {"query": ["select *", "from {schema}.fct_x"]}}))
    assert ok.kind == "marts" and ok.target == "fct_x" and ok.asset_names == ("table", "rates")
    assert assets.marts_query(ok, "rates", "marts__build") == 'select *\nfrom "marts__build".fct_x'


def test_row_conditions_are_read_for_columns_and_shown_to_the_steward():
    item = {"type": "expect_column_values_to_be_between", "severity": "critical", "meta": {"asset": "volume"},
            "kwargs": {"column": "volume_ratio", "min_value": 0.05,
                       "row_condition": {"type": "comparison", "column": {"name": "trailing_median"},
                                         "operator": ">=", "parameter": 20}}}
    assert assets.referenced_columns([item]) == ["volume_ratio", "trailing_median"]
    conf = suites.gx_expectations(
        suites.SuiteFile("raw_hotline", EXPECTATIONS_DIR / "raw_hotline.json", (item,)), "volume")[0].configuration
    assert outcomes.expectation_id(conf) == "expect_column_values_to_be_between(volume.volume_ratio)"
    assert outcomes.expected_text(conf) == "volume_ratio >= 0.05 or null where trailing_median >= 20"
