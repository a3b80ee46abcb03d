"""RQ's layout read from Redis; `qwatch.rq.Worker` is the opt-in worker class of exact mode.

`Worker` is imported on first use only: the readers here never import rq, so
qwatch watches RQ without RQ installed.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "Worker":
        from qwatch.rq.worker import Worker

        return Worker
    raise AttributeError(f"module 'qwatch.rq' has no attribute {name!r}")
