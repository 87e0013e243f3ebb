"""The Data Docs site without a network: GX's pages with their styles, scripts and icons read
from the site itself, so that a page opened from disk on an intranet is styled and complete.

GX's templates load Bootstrap, jQuery, Popper, Font Awesome, bootstrap-table (with its
filter-control and datepicker), Vega and a dark theme from CDNs, and the top bar's logo from
GX's web server. The site builder's own configuration replaces them (`site_config`): every
page's `view` is one of the classes below, whose Jinja loader reads this package's templates
first (`data_docs_templates/`) and rewrites GX's on load (`OfflineLoader`):

- vendored — Bootstrap 4 (CSS; JS with Popper bundled: the collapsible sections), jQuery and
  Font Awesome 6 (the pass/fail icons), copied into `<site>/static/vendor/` by `copy_assets`
  from the XStatic packages on PyPI (pyproject.toml);
- left out — bootstrap-table and its extensions (no package on PyPI ships them: the index's
  table of validations is rendered as a plain sorted table instead, `bootstrap_table.j2`),
  Vega (only the charts of distribution expectations use it; no suite here has one) and the
  dark theme;
- the logo and favicon come from the `static/images/` GX copies into every site.

Imports GX: cei.quality.checkpoint imports this module only when it renders a site.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, pass_context

TEMPLATES = Path(__file__).with_name("data_docs_templates")
VENDOR = "static/vendor/"  # under the site's root
FONT_AWESOME_CSS = "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css"


def _assets() -> dict[str, tuple[Path, str]]:
    """Each CDN address GX's templates name that the site serves itself: (source, path under
    VENDOR)."""
    import xstatic.pkg.bootstrap as bootstrap
    import xstatic.pkg.font_awesome as font_awesome
    import xstatic.pkg.jquery as jquery

    bs, fa, jq = (Path(m.BASE_DIR) for m in (bootstrap, font_awesome, jquery))
    return {
        "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
            (bs / "css" / "bootstrap.min.css", "bootstrap/css/bootstrap.min.css"),
        # the bundle carries Popper, which GX loads separately
        "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
            (bs / "js" / "bootstrap.bundle.min.js", "bootstrap/js/bootstrap.bundle.min.js"),
        "https://code.jquery.com/jquery-3.7.1.min.js": (jq / "jquery.min.js", "jquery/jquery.min.js"),
        FONT_AWESOME_CSS: (fa / "css" / "all.min.css", "font-awesome/css/all.min.css"),
    }


def copy_assets(site: Path) -> None:
    """The vendored files into `<site>/static/vendor/`, with Font Awesome's fonts where its CSS
    looks for them (../webfonts/); a file of another size (a new package version) is replaced."""
    assets = _assets()
    fonts = assets[FONT_AWESOME_CSS][0].parent.parent / "webfonts"
    files = [*assets.values(), *((f, f"font-awesome/webfonts/{f.name}") for f in sorted(fonts.iterdir()))]
    for source, relative in files:
        target = site / VENDOR / relative
        if not target.exists() or target.stat().st_size != source.stat().st_size:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


@pass_context
def site_root(context: Any) -> str:
    """The relative path from the page being rendered to the site's root, by where GX writes
    each kind of page: validations/<suite parts>/<run>/<time>/<batch>.html,
    expectations/<suite parts>.html, index.html."""
    renderer = context.get("renderer_type") or ""
    dots = (context.get("expectation_suite_name") or "").count(".")
    if "ValidationResults" in renderer or "ProfilingResults" in renderer:
        return "../" * (dots + 4)
    if "ExpectationSuite" in renderer:
        return "../" * (dots + 1)
    return ""


_REMOTE_TAG = re.compile(r'<(?:link|script)\b[^>]*?\b(?:href|src)="(https?://[^"]+)"[^>]*>(?:\s*</script>)?')
_REMOTE_CSS_URL = re.compile(r"url\(\s*'?https?://[^)']*'?\s*\)")
_REMOTE_IMAGES = '"https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"'


def offline_source(source: str) -> str:
    """A GX template with every remote <link>/<script> replaced by the vendored file (without
    the CDN's integrity and crossorigin attributes, which a local file cannot satisfy) or
    dropped, remote CSS images dropped, and GX's images read from the site's static/images/."""
    assets = {url: relative for url, (_, relative) in _assets().items()}

    def tag(match: re.Match[str]) -> str:
        relative = assets.get(match[1])
        if relative is None:
            return ""
        href = "{{ cei_site_root() }}" + VENDOR + relative
        if relative.endswith(".css"):
            return f'<link rel="stylesheet" href="{href}"/>'
        return f'<script src="{href}"></script>'

    source = _REMOTE_TAG.sub(tag, source)
    source = _REMOTE_CSS_URL.sub("none", source)
    return source.replace(_REMOTE_IMAGES, 'cei_site_root() ~ "static/images/"')


class OfflineLoader(BaseLoader):
    """GX's templates through offline_source."""

    def __init__(self, gx: BaseLoader) -> None:
        self.gx = gx

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Any]:
        source, filename, uptodate = self.gx.get_source(environment, template)
        return offline_source(source), filename, uptodate


def make_offline(env: Environment) -> None:
    """This package's templates first, then GX's rewritten; the site_root function."""
    env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), OfflineLoader(env.loader)])
    env.globals["cei_site_root"] = site_root


class OfflinePageView(DefaultJinjaPageView):
    """A validation or suite page (GX's view, offline)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        make_offline(self.env)


class OfflineIndexPageView(DefaultJinjaIndexPageView):
    """The site's index page (GX's view, offline)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        make_offline(self.env)


def site_config(site: Path) -> dict[str, Any]:
    """GX's SiteBuilder configuration of the static site in `site`, every page an offline view."""
    view = {"module_name": __name__, "class_name": "OfflinePageView"}
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                               "view": {"module_name": __name__, "class_name": "OfflineIndexPageView"}},
        "site_section_builders": {section: {"view": view} for section in ("expectations", "validations", "profiling")},
    }
