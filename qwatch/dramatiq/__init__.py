"""Dramatiq on Redis: its queues, delay queues, dead letters and broker heartbeats, read-only;
`qwatch.dramatiq.Middleware` is the opt-in middleware of exact mode.

`Middleware` is imported on first use only: the readers here never import
dramatiq, so qwatch watches Dramatiq without Dramatiq installed.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "Middleware":
        from qwatch.dramatiq.middleware import Middleware

        return Middleware
    raise AttributeError(f"module 'qwatch.dramatiq' has no attribute {name!r}")
