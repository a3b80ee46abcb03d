"""A job's attempts as a Rich table, for `qwatch job` and the inspector of `qwatch top`."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from qwatch.model import JobDetail
from qwatch.text.listing import ATTEMPT_COLUMNS, attempt_rows
from qwatch.text.printable import printable


def attempts_table(job: JobDetail, title: str) -> RenderableType:
    """The job's recorded executions, oldest first, from its results stream.

    Each result or exception has its own line under the table, as wide as
    the terminal, and folds rather than being cut: it was cut once already,
    with a note saying how much.
    """
    *headers, outcome_header = ATTEMPT_COLUMNS
    rows = attempt_rows(job)
    runs = Table(box=None, pad_edge=False)
    outcomes = Table(box=None, pad_edge=False)
    for header in headers:
        runs.add_column(header, no_wrap=header != "worker", overflow="fold")
    outcomes.add_column(headers[0], no_wrap=True)
    outcomes.add_column(outcome_header, overflow="fold")
    for *run, outcome in rows:
        _add_row(runs, *run)
        _add_row(outcomes, run[0], outcome)
    return Group(Text(title, style="italic"), runs, Text(""), outcomes)


def _add_row(table: Table, *cells: str) -> None:
    """Text from Redis as it is, never as markup, its control characters written out."""
    table.add_row(*(Text(printable(cell)) for cell in cells))
