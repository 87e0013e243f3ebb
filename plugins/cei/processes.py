"""Child processes (dbt, ingest workers) that must not outlive the run that started them: a run
killed mid-step must not leave a child writing on while the re-run starts (Linux PR_SET_PDEATHSIG;
elsewhere only the check that the parent is still there)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[[int, int], int] | None:
    return ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def exit_with(parent: int, prctl: Callable[[int, int], int] | None = None) -> None:
    """Called in the child: be killed when `parent` dies; exit now if it already has."""
    prctl = prctl or _prctl()
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl: nobody would signal us
        os._exit(1)


def preexec_exit_with_me() -> Callable[[], None]:
    """A `preexec_fn` for subprocess: the child dies with this process. libc is looked up here,
    in the parent: between fork and exec only the plain call is safe."""
    parent, prctl = os.getpid(), _prctl()
    return lambda: exit_with(parent, prctl)
