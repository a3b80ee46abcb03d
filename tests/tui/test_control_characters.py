"""qwatch top shows escape sequences stored in Redis as text, never sends them to the terminal."""

from __future__ import annotations

import redis
from rich.syntax import Syntax
from textual.widgets import Label, Static

from qwatch.tui.inspector import Inspector
from tests.properties.test_printable import plant_hostile_state
from tests.tui.conftest import SIZE, cells, make_app, table, until


async def test_rows_and_the_inspector_show_controls_as_escapes(
    client: redis.Redis, url: str
) -> None:
    plant_hostile_state(client, url)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: table(app, "#workers-table").row_count == 1, "the worker")
        worker = cells(app, "#workers-table", "rq:evil")
        assert worker[2] == "host\\x1b]2;pwned\\x07"  # after the name and the system
        assert worker[4] == "idle\\x1b[2J"

        await pilot.press("3")
        await until(pilot, lambda: table(app, "#failed").row_count == 1, "the failed job")
        (key,) = table(app, "#failed").keys
        failed = cells(app, "#failed", key)
        assert failed[3] == "ValueError: boom \\x1b[2J\\x1b[8msecret"
        assert not any("\x1b" in cell for cell in worker + failed)

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Inspector), "the inspector")
        inspector = app.screen
        assert isinstance(inspector, Inspector)
        shown = inspector.query_one("#traceback", Static).content
        assert isinstance(shown, Syntax)
        assert "\x1b" not in shown.code and "boom \\x1b[2J\\x1b[8msecret" in shown.code
        assert shown.code.count("\n") == (inspector.job.traceback or "").count("\n")
        fields = inspector.query_one("#fields", Static).content
        assert "\x1b" not in str(fields) and "\x1b" not in str(
            inspector.query_one("#inspector-title", Label).content
        )
