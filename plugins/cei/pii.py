"""The key for personal data: consumer phones are stored only as HMACs keyed by it."""

from __future__ import annotations

import os
import secrets

from cei.errors import CeiError
from cei.settings import Settings


def _airflow_variable() -> str | None:
    """CEI_PII_SECRET as an Airflow variable, when running inside an Airflow task."""
    try:
        from airflow.sdk import Variable

        return Variable.get("CEI_PII_SECRET", default=None)
    except Exception:  # not inside a task, or no such variable
        return None


def resolve_secret(s: Settings) -> bytes:
    """Environment, then Airflow variable; on the embedded default a random key kept under
    CEI_HOME (created on first use). A configured server with no key is refused: storing
    unkeyed hashes of phone numbers would make them reversible by enumeration."""
    secret = s.pii_secret or _airflow_variable()
    if secret:
        return secret.encode()
    if not s.embedded:
        raise CeiError(
            "CEI_PII_SECRET is not set (environment or Airflow variable): "
            "refusing to ingest personal data without a key"
        )
    path = s.pii_secret_file
    if not path.exists():
        # Written aside, then linked into place: two first runs at once agree on one key.
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.touch(mode=0o600)
        tmp.write_text(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()
