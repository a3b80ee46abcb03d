"""The history's lines in `qwatch top`: the fleet's jobs out and failed under the status line,
and a queue's backlog, jobs out and failures over its jobs. One line each, so 80x24 keeps
its rows; a window longer than top's own hour comes from Prometheus (`--prometheus`)."""

from __future__ import annotations

from rich.text import Text

from qwatch.text.history_line import labelled
from qwatch.text.tables import Palette
from qwatch.tui.feed import Past

LABELS = {"queued": "queued", "out": "out/min", "failed": "failed/min"}
ROLES = {"queued": "accent", "out": "success", "failed": "error"}
BETWEEN = "  "


def past_line(past: Past, width: int, palette: Palette) -> Text:
    """Each measure's span side by side in `width` cells, after the span (`1h`, `24h`): a gap
    where nobody sampled, `-` for a measure qwatch cannot see (the jobs out of a queue whose
    ends are unseen)."""
    span = f"{span_label(past.span)} "
    columns = past.columns
    if not any(columns.values()):
        return Text(f"{span}no history yet: one point every 15 s", style="dim")
    room = (width - len(span) - len(BETWEEN) * (len(columns) - 1)) // max(1, len(columns))
    parts: list[tuple[str, str] | str] = [(span, "dim")]
    for n, (measure, values) in enumerate(columns.items()):
        if n:
            parts.append(BETWEEN)
        parts.append((labelled(LABELS[measure], values, room), palette[ROLES[measure]]))
    return Text.assemble(*parts, no_wrap=True, overflow="crop")


def span_label(seconds: float) -> str:
    """`1h`, `24h`, `7d`: hours up to three days, then days."""
    hours = round(seconds / 3600)
    return f"{hours}h" if hours <= 72 else f"{round(hours / 24)}d"
