"""Every path, environment variable, statutory day count and threshold, in one place.

Values are read from the environment each time `load()` is called, so a test or an Airflow
task can point the platform elsewhere by setting variables; nothing is cached at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DAGS_DIR = PROJECT_ROOT / "dags"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
REGIONS_CSV = DBT_PROJECT_DIR / "seeds" / "ref_regions.csv"
UNITS_CSV = DBT_PROJECT_DIR / "seeds" / "ref_units.csv"

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
FEED_NAMES = ("hotline", "odr", "returns", "inspection")

# Schemas of the warehouse. dbt builds staging/intermediate/marts; the platform owns the rest.
RAW, QUARANTINE, META, MARTS = "raw", "quarantine", "meta", "marts"
QUALITY_CHECKS = "quality_checks"  # views the quality gates validate, during a gate only (cei.quality)
ANALYST_ROLE = "cei_analyst"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None  # None: the embedded server under `home`
    # The embedded server's TCP side, where analysts log in (cei.warehouse.server): its listen
    # addresses (PostgreSQL's listen_addresses) and port (None: the one its data folder was given).
    listen_addresses: str
    port: int | None
    pii_secret: str | None
    airflow_home: Path
    landing: Path  # default landing folder of the nightly DAG: <landing>/<feed>/<YYYY-MM-DD>/
    export_dir: Path  # where the nightly DAG and `cei export` write the assessment export
    report_dir: Path  # where the nightly DAG and `cei report` write the monthly 12315 report
    # Statutory working-day deadlines (SAMR Order No. 20, 2019; ODR rules).
    deadline_complaint_accept_days: int
    deadline_complaint_mediation_days: int
    deadline_report_verify_days: int
    deadline_odr_days: int
    # How many trailing bytes/rows the encoding detector looks at before deciding.
    encoding_sample_bytes: int
    # Processes that parse files in parallel while the loader merges them in order.
    ingest_workers: int
    # Airflow as a service (cei.airflow_service): metadata database (None: a database `airflow` on
    # the embedded server), executor, where the API server and UI listen.
    airflow_database_url: str | None
    airflow_executor: str
    airflow_host: str
    airflow_port: int
    celery_broker_url: str | None  # with airflow_executor = celery, e.g. redis://127.0.0.1:6379/0
    # The nightly DAG: retries of a transient warehouse failure (the first after retry_delay_s,
    # then doubling), and where a failed night's alert is POSTed (cei.nightly).
    task_retries: int
    retry_delay_s: int
    alert_webhook: str | None
    # When a scheduled night stops waiting for deliveries still being written (local time), and
    # how long a file must be unmodified to count as written (cei.landing).
    landing_cutoff: time
    landing_settle_s: int

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def data_docs_dir(self) -> Path:  # the quality gates' static Data Docs site (cei.quality)
        return self.home / "data_docs"

    @property
    def docs_dir(self) -> Path:  # the dbt documentation site `cei docs` writes (cei.docs_site)
        return self.home / "docs"

    @property
    def gx_results_dir(self) -> Path:  # the validation results the Data Docs site renders
        return self.home / "gx" / "validations"

    @property
    def spool_dir(self) -> Path:  # files parsed, not yet merged into raw (cei.ingest.load)
        return self.home / "ingest_spool"

    @property
    def pii_secret_file(self) -> Path:
        return self.home / "pii_secret"

    @property
    def airflow_service_home(self) -> Path:  # AIRFLOW_HOME of the service (cei airflow start)
        return self.home / "airflow-service"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def load() -> Settings:
    home = Path(os.environ.get("CEI_HOME", PROJECT_ROOT / ".cei")).resolve()
    return Settings(
        home=home,
        database_url=os.environ.get("CEI_DATABASE_URL") or None,
        listen_addresses=os.environ.get("CEI_LISTEN_ADDRESSES", "127.0.0.1").strip(),
        port=int(os.environ["CEI_PORT"]) if os.environ.get("CEI_PORT") else None,
        pii_secret=os.environ.get("CEI_PII_SECRET") or None,
        airflow_home=Path(os.environ.get("AIRFLOW_HOME", home / "airflow")).resolve(),
        landing=Path(os.environ.get("CEI_LANDING", home / "landing")).resolve(),
        export_dir=Path(os.environ.get("CEI_EXPORT_DIR", home / "exports")).resolve(),
        report_dir=Path(os.environ.get("CEI_REPORT_DIR", home / "reports")).resolve(),
        deadline_complaint_accept_days=_int("CEI_DEADLINE_COMPLAINT_ACCEPT_DAYS", 7),
        deadline_complaint_mediation_days=_int("CEI_DEADLINE_COMPLAINT_MEDIATION_DAYS", 45),
        deadline_report_verify_days=_int("CEI_DEADLINE_REPORT_VERIFY_DAYS", 15),
        deadline_odr_days=_int("CEI_DEADLINE_ODR_DAYS", 10),
        encoding_sample_bytes=_int("CEI_ENCODING_SAMPLE_BYTES", 1 << 20),
        ingest_workers=max(1, _int("CEI_INGEST_WORKERS", min(4, os.cpu_count() or 1))),
        airflow_database_url=os.environ.get("CEI_AIRFLOW_DATABASE_URL") or None,
        airflow_executor=os.environ.get("CEI_AIRFLOW_EXECUTOR", "local").strip().lower(),
        airflow_host=os.environ.get("CEI_AIRFLOW_HOST", "127.0.0.1"),
        airflow_port=_int("CEI_AIRFLOW_PORT", 8080),
        celery_broker_url=os.environ.get("CEI_CELERY_BROKER_URL") or None,
        task_retries=_int("CEI_TASK_RETRIES", 3),
        retry_delay_s=_int("CEI_RETRY_DELAY_S", 60),
        alert_webhook=os.environ.get("CEI_ALERT_WEBHOOK") or None,
        landing_cutoff=time.fromisoformat(os.environ.get("CEI_LANDING_CUTOFF", "06:00")),
        landing_settle_s=_int("CEI_LANDING_SETTLE_S", 120),
    )
