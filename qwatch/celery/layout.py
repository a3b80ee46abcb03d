from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CeleryLayout:
    prefix: str = ""
    sep: str = "\x06\x16"
    priority_steps: tuple[int, ...] = (0, 3, 6, 9)
    visibility_timeout: float = 3600.0
    restore_delay: float = 100.0
    queues: tuple[str, ...] = ()
