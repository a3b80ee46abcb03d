"""Numbers and text made short and readable, shared by every face."""

from __future__ import annotations

import time

from rich.cells import cell_len

PHRASE_GAP = "  "
"""What stands between two phrases of a status line (`5 queues  3 queued  1 failed`)."""


def clip(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters with a note of what was cut; 0 means no limit."""
    if limit <= 0 or len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters cut]"


def clip_lines(text: str, limit: int) -> str:
    """A long text such as a traceback keeps its head and tail, the middle cut with a note."""
    if len(text) <= limit:
        return text
    head = text[: limit // 3]
    tail = text[-(limit - len(head)) :]
    return f"{head}\n… [{len(text) - len(head) - len(tail)} characters cut] …\n{tail}"


def break_between_phrases(text: str, width: int) -> str:
    """`text` with a line break for a `PHRASE_GAP` where the next phrase would pass `width`.

    A terminal wraps at any space, so a status line could end in `586` and the next begin
    with `failed`; this way a count stays with what it counts.
    """
    lines: list[str] = []
    for phrase in text.split(PHRASE_GAP):
        if lines and cell_len(lines[-1]) + len(PHRASE_GAP) + cell_len(phrase) <= width:
            lines[-1] += PHRASE_GAP + phrase
        else:
            lines.append(phrase)
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    """`1.2s`, `3m05s`, `2h10m`, `4d03h`; `-` for unknown."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f}s" if seconds >= 0.1 else f"{seconds * 1000:.0f}ms"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def short_number(value: float) -> str:
    """`3`, `2.5`, `12k`: short enough for an axis or a line's last value."""
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def byte_size(count: int | None) -> str:
    """`512B`, `1.5MiB`; `-` for unknown."""
    if count is None:
        return "-"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}TiB"


def clock(epoch: float | None) -> str:
    """A moment in UTC, to the second; `-` for unknown."""
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def load_average(loads: tuple[float, ...] | None) -> str:
    """A Celery worker's load average over 1, 5 and 15 minutes (`0.52 0.31 0.20`); `-`."""
    return " ".join(f"{load:.2f}" for load in loads[:3]) if loads else "-"


def plural(count: int, noun: str) -> str:
    """`1 worker`, `3 workers`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
