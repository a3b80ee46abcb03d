"""Frozen data for the snapshot tests: the same screens every run."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import replace

from qwatch.errors import QwatchError
from qwatch.model import (
    ARQ,
    CELERY,
    DRAMATIQ,
    RQ,
    AbandonedJob,
    Attempt,
    CeleryQueue,
    CeleryWatch,
    FailedJob,
    FunctionCount,
    FunctionCounts,
    JobDetail,
    JobPage,
    ListedJob,
    PageRequest,
    QueueStats,
    RedisInfo,
    SearchHit,
    SearchProgress,
    SearchRequest,
    Snapshot,
    WorkerStats,
)
from qwatch.text.history_line import blocks
from qwatch.text.recent import FunctionRecent
from qwatch.text.trends import QueueTrend
from qwatch.tui.feed import BACKLOG_CELLS, Action, Past, Update
from qwatch.wire.connection import Target

NOW = 1_764_000_000.0
TRACEBACK = """Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.12/site-packages/rq/job.py", line 1428, in _execute
    result = self.func(*self.args, **self.kwargs)
  File "/srv/app/shop/crawl.py", line 41, in product
    page = fetch(url, timeout=30)
  File "/srv/app/shop/http.py", line 12, in fetch
    raise requests.exceptions.Timeout(f"{url} did not answer within {timeout}s")
requests.exceptions.Timeout: https://shop.example/item/42 did not answer within 30s
"""


def queue(
    name: str,
    queued: int,
    started: int,
    failed: int,
    finished: int,
    workers: int,
    age: float | None,
) -> QueueStats:
    return QueueStats(
        name,
        queued,
        started,
        finished,
        failed,
        0,
        1 if name == "reports" else 0,
        0,
        0,
        age,
        workers,
        None,
        system=RQ,
    )


def worker(
    name: str,
    host: str,
    state: str,
    queues: tuple[str, ...],
    job: str | None,
    overdue: bool = False,
) -> WorkerStats:
    return WorkerStats(
        name, host, 4200 + len(name), state, queues, "job-1" if job else None, job,
        12.5 if job else None, NOW - 86_400, 95.0 if overdue else 1.5, overdue, 1520, 12, 8123.5,
        f"10.0.0.{len(name)}:{50000 + len(host)}", "3.12.4", "2.12.0",system=RQ
    )  # fmt: skip


def hour(value: Callable[[int], float]) -> list[float]:
    """A measure's last hour, a value a 15 s slot, with the ten minutes Redis did not answer
    (slots 150 to 189) as the gap they are."""
    return [math.nan if 150 <= n < 190 else value(n) for n in range(240)]


OUT = hour(lambda n: 40 + 30 * math.sin(n / 20))
FAILED = hour(lambda n: 12.0 if 200 <= n < 210 else float(n % 3 == 0))
QUEUED = hour(lambda n: float(max(0, n - 120) * 9))


def backlog(first: float, last: float, wave: float = 0.0) -> str:
    """A queue row's hour of queued jobs, from `first` to `last`, with a wave on top."""
    values = hour(lambda n: first + (last - first) * n / 239 + wave * (1 + math.sin(n / 9)))
    return blocks(values, BACKLOG_CELLS)


UPDATE = Update(
    snapshot=Snapshot(
        taken_at=NOW,
        queues=(
            queue("crawl", 1145, 8, 34, 18230, 4, 392.0),
            queue("default", 1, 0, 0, 512, 6, 0.4),
            queue("emails", 0, 2, 3, 9120, 6, None),
            queue("highpriority", 60, 4, 1, 2210, 0, 1800.0),
            queue("reports", 3, 1, 0, 47, 2, 65.0),
        ),
        workers=(
            worker(
                "c070d972.13",
                "crawler-1",
                "busy",
                ("highpriority", "crawl"),
                "shop.crawl.product('https://shop.example/item/42')",
            ),
            worker(
                "c070d972.14",
                "crawler-1",
                "busy",
                ("crawl",),
                "shop.crawl.product('https://shop.example/item/43')",
            ),
            worker("a11b.7", "mailer-1", "idle", ("emails", "default"), None),
            worker("a11b.8", "mailer-1", "idle", ("emails", "default"), None, overdue=True),
            worker("f00d.2", "reports-1", "suspended", ("reports",), None),
        ),
        abandoned_jobs=(AbandonedJob("job-9", "crawl", "gone.1", 610.0),),
        expired_workers=("gone.1",),
        suspended=False,
        redis=RedisInfo("7.2.4", 512 * 1024 * 1024, 2 * 1024 * 1024 * 1024),
    ),
    failed=(
        FailedJob(
            "3f2b6a1c-8d4e-4f0a-9b7c-2e5d1a6f8c90",
            "crawl",
            "shop.crawl.product",
            "requests.exceptions.Timeout: https://shop.example/item/42 did not answer within 30s",
            "c070d972.13",
            NOW - 5,
            system=RQ,
        ),
        FailedJob(
            "9a0c4e7d-1b2f-4c3a-8e5d-7f6a9b0c1d2e",
            "emails",
            "mail.send_receipt",
            "smtplib.SMTPServerDisconnected: Connection unexpectedly closed",
            "a11b.7",
            NOW - 95,
            system=RQ,
        ),
        FailedJob(
            "c51d7e2a-6f3b-4a8c-9d0e-1b2c3d4e5f60",
            "crawl",
            "shop.crawl.product",
            "ZeroDivisionError: division by zero",
            "c070d972.14",
            NOW - 3700,
            system=RQ,
        ),
    ),
    trends={
        "rq:crawl": QueueTrend(12.5, 11.0),
        "rq:default": QueueTrend(0.5, 0.5),
        "rq:emails": QueueTrend(30.0, 30.2),
        "rq:highpriority": QueueTrend(2.0, 0.0),
        "rq:reports": QueueTrend(0.1, 0.1),
    },
    functions=FunctionCounts(
        (
            FunctionCount("shop.crawl.product", 1140, 8, 33),
            FunctionCount("mail.send_receipt", 0, 2, 3),
            FunctionCount("reports.weekly", 3, 1, 0),
        ),
        sampled=False,
    ),
    recent={
        "shop.crawl.product": FunctionRecent("shop.crawl.product", 3310, 41, 1.8, 12.4, 30.0),
        "mail.send_receipt": FunctionRecent("mail.send_receipt", 9020, 0, 0.12, 0.4, 2.1),
        "reports.nightly": FunctionRecent("reports.nightly", 1, 0, 612.0, 612.0, 612.0),
    },
    throughput=Past({"out": OUT, "failed": FAILED}),
    backlogs={
        "rq:crawl": backlog(900, 1145),
        "rq:default": backlog(1, 1, wave=2),
        "rq:emails": backlog(4, 0, wave=3),
        "rq:highpriority": backlog(52, 60),
        "rq:reports": backlog(3, 3),
    },
)

JOB = JobDetail(
    id="3f2b6a1c-8d4e-4f0a-9b7c-2e5d1a6f8c90", status="failed", function="shop.crawl.product",
    arguments="'https://shop.example/item/42', retries=<decimal.Decimal('3')>",
    description="shop.crawl.product('https://shop.example/item/42')", origin="crawl",
    worker="c070d972.13", created_at=NOW - 60, enqueued_at=NOW - 60, started_at=NOW - 35,
    ended_at=NOW - 5, timeout=180, retries_left=0, result=None,
    exception="requests.exceptions.Timeout: https://shop.example/item/42 did not answer within 30s",
    traceback=TRACEBACK, meta="{'progress': 0.4}", retries_used=None, retry_intervals=(10, 30),
    dependencies=("a7c1-parent",), attempts=(
        Attempt(NOW - 5, "failed", "c070d972.13", "x1", NOW - 35, NOW - 5, None,
                "requests.exceptions.Timeout: https://shop.example/item/42 did not answer"),
    ),system=RQ, logs=(
        "2025-11-24 15:59:25 INFO shop.crawl: fetching https://shop.example/item/42",
        "2025-11-24 15:59:55 WARNING shop.crawl: no answer after 30s, giving up",
    ),
)  # fmt: skip


LISTED = tuple(
    ListedJob(
        id=f"5d0c7f3e-1b2a-4c1d-9e8f-00000000000{i}", position=i, function="shop.crawl.product",
        status="queued", worker="c070d972.13" if i else None, created_at=NOW - 600,
        enqueued_at=NOW - 300 + i, started_at=NOW - 30 + i, ended_at=NOW - 5 + i,
        score=NOW + 120 * (i + 1), waits_for=("f-1",) if i == 1 else (),
        result="{'items': 42}" if i != 2 else None,
        exception="requests.exceptions.Timeout: upstream" if i == 2 else None, exists=True,
    )
    for i in range(3)
)  # fmt: skip
HITS = (
    SearchHit(
        id=JOB.id, queue="crawl", state="failed", function=JOB.function, at=None,
        worker="c070d972.13", detail="requests.exceptions.Timeout: https://shop.example/item/42",
        system=RQ,
    ),
    *(
        SearchHit(
            id=job.id, queue="crawl", state="finished", function=job.function, at=None,
            worker=job.worker, detail=job.result, system=RQ,
        )
        for job in LISTED
    ),
)  # fmt: skip
"""What searching the frozen data finds: no time, so that the pictures stay the same."""


class FrozenFeed:
    """Always the same update; writes are refused."""

    target = Target(url="redis://queues.internal:6379/0")

    def start(self) -> None:
        """Nothing to follow."""

    def stop(self) -> None:
        """Nothing to stop."""

    def poll(self, with_functions: bool) -> Update:
        return UPDATE

    def job(self, job_id: str) -> JobDetail | None:
        return JOB if job_id == JOB.id else None

    def page(self, request: PageRequest) -> JobPage:
        jobs = tuple(replace(job, position=request.offset + i) for i, job in enumerate(LISTED))
        return JobPage(request, True, 1234, jobs, 3, request.offset + 3, NOW, system=RQ)

    def dramatiq_page(self, request: PageRequest) -> JobPage:
        return replace(self.page(request), system=DRAMATIQ)

    def arq_page(self, request: PageRequest) -> JobPage:
        return replace(self.page(request), system=ARQ)

    def search(self, request: SearchRequest) -> Generator[SearchProgress, None, None]:
        hits = tuple(hit for hit in HITS if request.matches(hit.id, hit.function, hit.detail))
        yield SearchProgress(request, hits, 1234, 1234, True)

    def act(self, action: Action) -> str:
        raise QwatchError("frozen data: nothing to change")

    def queue_past(self, system: str, name: str) -> Past:
        return Past({"queued": QUEUED, "out": OUT, "failed": FAILED})


def celery_queue(
    name: str,
    queued: int,
    eta: int,
    reserved: int,
    overdue: int,
    heads: tuple[tuple[str, int], ...],
) -> QueueStats:
    """A Celery queue: no registries, no listeners known, kombu's own facts in `celery`."""
    steps = ((0, queued - queued // 3), (3, queued // 3), (6, 0), (9, 0))
    read = sum(count for _name, count in heads)
    facts = CeleryQueue(steps, reserved, overdue, 340.0 if overdue else 4.0, heads, read)
    return QueueStats(
        name,
        queued,
        None,
        None,
        None,
        None,
        eta,
        None,
        None,
        None,
        None,
        None,
        facts,
        system=CELERY,
    )


def celery_worker(name: str, state: str, processed: int, task_events: bool | None) -> WorkerStats:
    return WorkerStats(
        name, name.partition("@")[2], 7100 + len(name), state, (), None, None, None,
        NOW - 7200, 0.8, False, None, None, None, system=CELERY, processed=processed,
        load_average=(0.52, 0.4, 0.31), task_events=task_events,
    )  # fmt: skip


MIXED = replace(
    UPDATE,
    snapshot=replace(
        UPDATE.snapshot,
        queues=(
            *UPDATE.snapshot.queues,
            celery_queue("default", 42, 3, 8, 0, (("shop.tasks.send_email", 16),)),
            celery_queue(
                "video",
                310,
                0,
                12,
                2,
                (("video.tasks.transcode", 90), ("video.tasks.thumbnail", 10)),
            ),
        ),
        workers=(
            *UPDATE.snapshot.workers,
            celery_worker("celery@mailer-1", "idle", 20_331, True),
            celery_worker("celery@video-2", "busy", 812, False),
        ),
        celery=CeleryWatch(listening_seconds=95.0, events_seen=410, results_seen=12),
    ),
    trends={
        **UPDATE.trends,
        "celery:default": QueueTrend(4.0, 4.2),
        "celery:video": QueueTrend(1.5, 0.5),
    },
    backlogs={
        **UPDATE.backlogs,
        "celery:default": backlog(40, 42, wave=2),
        "celery:video": backlog(290, 310),
    },
)
"""RQ's queues and workers beside Celery's: a `default` queue in each system, a Celery queue
with overdue messages, and a Celery worker that sends no task events."""


class MixedFeed(FrozenFeed):
    """RQ and Celery on one Redis."""

    def poll(self, with_functions: bool) -> Update:
        return MIXED
