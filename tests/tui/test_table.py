"""The live table on frozen data: what fits at each width, and what one refresh repaints."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets._footer import FooterKey

from qwatch.model import RQ, FailedJob
from qwatch.text.trends import QueueTrend
from qwatch.tui.app import QwatchApp
from qwatch.tui.messages import Polled
from tests.tui.conftest import until
from tests.tui.frozen import NOW, UPDATE, FrozenFeed, queue

IMPORTANT = {
    "queues": {"queue", "queued", "started", "failed", "workers", "oldest", "in", "out"},
    "workers-table": {"name", "state", "job", "for", "heartbeat"},
    "failed": {"when", "function", "exception", "id"},
}


def frozen_app() -> QwatchApp:
    return QwatchApp(FrozenFeed(), interval=3600)


def line(app: QwatchApp, table: str, y: int) -> str:
    return app.tables[table].render_line(y).text


async def test_the_important_columns_fit_80_columns_and_ids_stay_whole() -> None:
    app = frozen_app()
    async with app.run_test(size=(80, 24)) as pilot:
        for key, table in (("1", "queues"), ("2", "workers-table"), ("3", "failed")):
            await pilot.press(key)
            await until(pilot, lambda t=table: app.tables[t].row_count > 0, table)  # type: ignore[misc]
            assert IMPORTANT[table] <= set(app.tables[table].column_widths), table
            await pilot.pause()
            keys = {key.key: key.region for key in app.screen.query(FooterKey)}
            assert keys["question_mark"].right <= 80 and keys["q"].right <= 80, table
        rows = "\n".join(line(app, "failed", y) for y in range(1, 4))
        assert "…" in rows  # the exception is cut, not the ids
        assert all(job.id in rows for job in UPDATE.failed)
        assert "…crawl.product" in rows and "shop.crawl.p" not in rows  # the name, not the module


async def test_a_huge_exception_is_capped_and_its_width_goes_with_it() -> None:
    huge = FailedJob(
        "0" * 36, "crawl", "shop.crawl.product", "E" * 30_000, "w.1", NOW - 1, system=RQ
    )
    with_huge = replace(UPDATE, failed=(huge, *UPDATE.failed))
    app = frozen_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.press("3")
        failed = app.tables["failed"]
        await until(pilot, lambda: failed.row_count == 3, "the failed jobs")
        before = failed.column_widths
        app.post_message(Polled(with_huge))
        await until(pilot, lambda: failed.row_count == 4, "the huge exception")
        widths = failed.column_widths
        assert widths["exception"] <= 60 and widths["id"] == 36 and "worker" in widths
        assert "E" * 59 + "…" in line(app, "failed", 1) and huge.id in line(app, "failed", 1)
        app.post_message(Polled(UPDATE))
        await until(pilot, lambda: failed.row_count == 3, "the huge exception to go")
        assert failed.column_widths == before


async def test_a_refresh_repaints_only_visible_rows_that_changed() -> None:
    queues = tuple(queue(f"queue-{i:04d}", i, 0, 0, 0, 1, 5.0) for i in range(1000))
    trends = {f"rq:{q.name}": QueueTrend(1.0, 1.0) for q in queues}
    big = replace(UPDATE, snapshot=replace(UPDATE.snapshot, queues=queues), trends=trends)
    app = frozen_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.tables["queues"]
        app.post_message(Polled(big))
        await until(pilot, lambda: table.row_count == 1000, "a thousand queues")
        await pilot.pause()
        shown = table.scrollable_content_region.height
        one_changed = replace(big.snapshot, queues=(replace(queues[0], queued=7), *queues[1:]))
        before = table.lines_rendered
        app.post_message(Polled(replace(big, snapshot=one_changed)))
        await until(pilot, lambda: table.get_row("rq:queue-0000")[2].__str__() == "7", "the change")
        await pilot.pause()
        assert 1 <= table.lines_rendered - before <= 2
        aged = replace(big.snapshot, queues=tuple(replace(q, queued=q.queued + 1) for q in queues))
        before = table.lines_rendered
        app.post_message(Polled(replace(big, snapshot=aged)))
        await until(pilot, lambda: table.get_row("rq:queue-0999")[2].__str__() == "1000", "all")
        await pilot.pause()
        assert table.lines_rendered - before <= shown
