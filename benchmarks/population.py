"""A large RQ deployment written with RQ's own API: queues, queued jobs, workers."""

from __future__ import annotations

import argparse

import redis
from rq import Queue, Worker

from harness import tasks
from harness.workers import mark_busy

BATCH = 1_000


def populate(client: redis.Redis, queues: int, workers: int, jobs: int) -> None:
    """`jobs` queued jobs spread over `queues` queues, and `workers` registered workers.

    A third of the workers are busy with a job of their first queue, so every
    per-worker field a monitor reads is filled in.
    """
    names = [f"queue-{i:04d}" for i in range(queues)]
    for start in range(0, jobs, BATCH):
        by_queue: dict[str, list[object]] = {}
        for n in range(start, min(start + BATCH, jobs)):
            by_queue.setdefault(names[n % queues], []).append(
                Queue.prepare_data(tasks.add, (n, 1), job_id=f"job-{n}")
            )
        with client.pipeline() as pipe:
            for name, datas in by_queue.items():
                Queue(name, connection=client).enqueue_many(datas, pipeline=pipe)  # type: ignore[arg-type]
            pipe.execute()
    for i in range(workers):
        listens = [names[i % queues], names[(i + 1) % queues]]
        worker = Worker(listens, connection=client, name=f"worker-{i:04d}")
        worker.register_birth()
        if i % 3 == 0:
            mark_busy(worker, f"job-{i % max(jobs, 1)}")
        else:
            worker.set_state("idle")


def scale_arguments(description: str | None, runs: int) -> argparse.ArgumentParser:
    """The options every benchmark shares: the deployment's size and the runs per tool."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=runs)
    return parser
