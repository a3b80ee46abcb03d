"""The history's lines in `qwatch top`: the fleet's jobs out and failed under the status line,
and a queue's backlog, jobs out and failures over its jobs. One line each, so 80x24 keeps
its rows; longer windows are Grafana's, or the dashboard's day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text

from qwatch.text.history_line import labelled
from qwatch.text.tables import Palette

LABELS = {"queued": "queued", "out": "out/min", "failed": "failed/min"}
ROLES = {"queued": "accent", "out": "success", "failed": "error"}
HOUR = "1h "
"""What the lines span: the history's last hour."""
BETWEEN = "  "


def past_line(columns: Mapping[str, Sequence[float]], width: int, palette: Palette) -> Text:
    """Each measure's last hour side by side in `width` cells: a gap where nobody sampled,
    `-` for a measure qwatch cannot see (the jobs out of a queue whose ends are unseen)."""
    if not any(columns.values()):
        return Text(f"{HOUR}no history yet: one point every 15 s", style="dim")
    room = (width - len(HOUR) - len(BETWEEN) * (len(columns) - 1)) // max(1, len(columns))
    parts: list[tuple[str, str] | str] = [(HOUR, "dim")]
    for n, (measure, values) in enumerate(columns.items()):
        if n:
            parts.append(BETWEEN)
        parts.append((labelled(LABELS[measure], values, room), palette[ROLES[measure]]))
    return Text.assemble(*parts, no_wrap=True, overflow="crop")
