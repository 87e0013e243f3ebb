"""`cei docs`: dbt's documentation site of the project — every model, column, test and the
lineage, with the warehouse's own catalogue (types, sizes) — as one HTML file that opens from
disk (file://), with no server and no network, as on a government intranet.

`dbt docs generate --static` writes that file (`static_index.html`: dbt's page with the manifest
and the catalogue inlined). It needs the warehouse: the catalogue is read from PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cei import processes, transform, warehouse
from cei import settings as cfg
from cei.errors import CeiError

# dbt 1.11's page holds every script, style, font and image inline; the one address on the
# internet it can load is its usage tracker's script, and only when the manifest says
# send_anonymous_usage_stats (dbt_project.yml's flags and dbt_env say it does not). This policy
# makes that a property of the written page rather than of a flag: it may run its own inline
# code and data: URLs, and load nothing from anywhere, whatever a later dbt adds.
OFFLINE_POLICY = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; font-src data:\">"
)


def generated_dir(s: cfg.Settings) -> Path:
    """dbt's target folder for the docs: not the nightly build's (dbt_target_dir), whose
    run_results.json a concurrent night reads."""
    return s.home / "dbt" / "docs"


def offline(page: str) -> str:
    """dbt's static page with OFFLINE_POLICY first in its <head>."""
    head = page.find("<head>")
    if head < 0:
        raise CeiError("dbt docs generate wrote a page without <head>: cannot make it offline")
    at = head + len("<head>")
    return page[:at] + OFFLINE_POLICY + page[at:]


def _published(s: cfg.Settings) -> None:
    """The catalogue describes the published marts: refuse, in one line, before they exist."""
    with warehouse.connect(s) as conn:
        tables = conn.execute(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm')", (cfg.MARTS,),
        ).fetchone()[0]
    if not tables:
        raise CeiError(f"no published marts in the warehouse at {warehouse.describe(warehouse.database_url(s))}:"
                       " run a night first (cei run), then cei docs")


def write_site(s: cfg.Settings | None = None) -> Path:
    """Generate the site and write it as `<CEI_HOME>/docs/index.html`; returns that path."""
    s = s or cfg.load()
    _published(s)
    target = generated_dir(s)
    args = [
        str(Path(sys.executable).with_name("dbt")), "docs", "generate", "--static",
        "--project-dir", str(cfg.DBT_PROJECT_DIR),
        "--profiles-dir", str(cfg.DBT_PROJECT_DIR),
        "--target-path", str(target / "target"),
        "--log-path", str(target / "logs"),
        "--vars", json.dumps(transform.dbt_vars(s)),
    ]
    page = target / "target" / "static_index.html"
    page.unlink(missing_ok=True)  # never publish an earlier invocation's page
    # the marts as analysts read them, never a build schema from the caller's environment
    env = {**transform.dbt_env(s), "CEI_MARTS_SCHEMA": cfg.MARTS}
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False,
                          preexec_fn=processes.preexec_exit_with_me())
    if proc.returncode != 0 or not page.exists():
        lines = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
        reason = next((ln for ln in lines if "error" in ln.lower()), lines[-1] if lines else "no output")
        raise CeiError(f"dbt docs generate failed: {reason} (log: {target / 'logs' / 'dbt.log'})")
    out = s.docs_dir / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(offline(page.read_text(encoding="utf-8")), encoding="utf-8")
    return out
