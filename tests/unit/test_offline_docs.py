"""The documentation pages load nothing from the internet: GX's templates as the Data Docs site
reads them (cei.quality.data_docs), and dbt's page as `cei docs` writes it (cei.docs_site).
The pages themselves are opened in Chromium by tests/integration/test_dictionary.py."""

from __future__ import annotations

import re
from pathlib import Path

import great_expectations
import pytest

from cei import docs_site
from cei.quality import data_docs

GX_TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view"
# what a browser fetches by itself: a stylesheet, script or image address, or a CSS url()
REMOTE_LOAD = re.compile(r'<(?:link|script|img)\b[^>]*\b(?:href|src)="https?://|url\(\s*[\'"]?https?://')
TEMPLATES = sorted([*GX_TEMPLATES.glob("templates/*.j2"), *GX_TEMPLATES.glob("static/styles/*.css")])


def test_gx_templates_name_cdns() -> None:
    """The premise: GX's own templates do load from CDNs (else the rewriting is dead code)."""
    assert sum(bool(REMOTE_LOAD.search(t.read_text())) for t in TEMPLATES) >= 4


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_offline_templates_load_nothing_remote(template: Path) -> None:
    source = data_docs.offline_source(template.read_text())
    assert not REMOTE_LOAD.search(source), REMOTE_LOAD.search(source)
    assert "great-expectations-web-assets" not in source


def test_the_vendored_assets_are_installed(tmp_path: Path) -> None:
    data_docs.copy_assets(tmp_path)
    vendor = tmp_path / "static" / "vendor"
    for relative in ("bootstrap/css/bootstrap.min.css", "bootstrap/js/bootstrap.bundle.min.js", "jquery/jquery.min.js",
                     "font-awesome/css/all.min.css", "font-awesome/webfonts/fa-solid-900.woff2"):
        assert (vendor / relative).stat().st_size > 1000, relative
    page = data_docs.offline_source((GX_TEMPLATES / "templates" / "page.j2").read_text())
    assert '{{ cei_site_root() }}static/vendor/bootstrap/css/bootstrap.min.css' in page
    assert "integrity=" not in data_docs.offline_source((GX_TEMPLATES / "templates" / "js_script_imports.j2")
                                                        .read_text())


def test_the_dbt_page_may_load_nothing() -> None:
    page = docs_site.offline("<html><head><title>dbt</title></head><body></body></html>")
    assert page.startswith("<html><head>" + docs_site.OFFLINE_POLICY)
    assert "default-src 'none'" in docs_site.OFFLINE_POLICY
