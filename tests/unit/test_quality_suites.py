"""The quality suite files in expectations/: they parse, and every expectation is reviewable."""

import json

import pytest

from cei import quality
from cei.errors import CeiError
from cei.feeds import FEEDS
from cei.settings import EXPECTATIONS_DIR

SUITES = sorted(EXPECTATIONS_DIR.glob("*.json"))


def test_there_is_a_suite_for_the_hotline_feed():
    assert quality.suite_path("hotline") in SUITES


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_suite_file_parses_and_names_a_feed(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["name"] == path.stem
    assert path.stem.startswith("raw_") and path.stem.removeprefix("raw_") in FEEDS
    assert doc["expectations"], "a suite with no expectations checks nothing"


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_every_expectation_has_a_severity_a_description_and_a_reason(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    for item in doc["expectations"]:
        label = f"{path.name}: {item.get('type')} {item.get('kwargs')}"
        assert item.get("severity") in {"critical", "warning"}, label
        assert item.get("description", "").strip(), f"{label}: no description for the steward"
        assert item.get("notes"), f"{label}: no notes justifying it"
        assert (item.get("meta") or {}).get("asset", "rows") in quality.ASSETS, label


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.name)
def test_suite_loads_into_valid_gx_expectations_on_existing_columns(path):
    suite = quality.load_suite(path)
    feed = FEEDS[path.stem.removeprefix("raw_")]
    quality.check_columns(suite, feed)
    built = [e for asset in quality.ASSETS for e in quality._gx_expectations(suite, asset)]
    assert len(built) == len(suite.expectations)
    # GX's own severity field carries ours.
    assert [e.severity.value for e in built] == [
        item["severity"] for asset in quality.ASSETS for item in suite.for_asset(asset)
    ]


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


def _write(tmp_path, expectations, name="raw_hotline"):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "expectations": expectations}), encoding="utf-8")
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
        quality._gx_expectations(bad_kwargs, "rows")
    bad_column = quality.load_suite(
        _write(tmp_path, [{**NOT_NULL, "kwargs": {"column": "work_order"}, "severity": "warning"}])
    )
    with pytest.raises(CeiError, match="no column work_order"):
        quality.check_columns(bad_column, FEEDS["hotline"])


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
    assert quality._file_ids([3, 1, 3]) == [1, 3]
    for bad in (["1; drop table x"], [1.5], [True]):
        with pytest.raises(TypeError):
            quality._file_ids(bad)
    query = quality.rows_query(FEEDS["hotline"], [1, 3], ["kind"])
    assert query.endswith("where load_file_id in (1, 3)")
