"""The report's PDF: the HTML printed by headless Chromium (`--print-to-pdf`), as a browser
prints it, with the page's own @page size and margins.

Chromium is Debian's package (`apt-get install chromium`, with `fonts-noto-cjk` for the Chinese
text); where it is missing the report is the HTML alone and the reason is returned, never raised:
a night does not fail for want of a printer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 120


def browser() -> str | None:
    """CEI_CHROMIUM, else the first of BROWSERS on PATH."""
    return os.environ.get("CEI_CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)


def print_to_pdf(html: Path, out: Path) -> tuple[Path | None, str | None]:
    """(the PDF, None), or (None, why not)."""
    exe = browser()
    if exe is None:
        return None, "Chromium not found (apt-get install chromium fonts-noto-cjk, or set CEI_CHROMIUM)"
    tmp = out.with_name(f".{out.name}.tmp")
    with tempfile.TemporaryDirectory(prefix="cei-chromium-") as profile:
        try:
            done = subprocess.run(
                [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--no-pdf-header-footer", f"--print-to-pdf={tmp}", html.resolve().as_uri()],
                capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"Chromium failed: {exc}"
    if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return None, f"Chromium printed no PDF: {last}"
    tmp.replace(out)
    return out, None
