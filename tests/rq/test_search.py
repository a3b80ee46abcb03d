"""`qwatch search` over RQ: what it finds in every state, how far its budget takes it, and what
it costs Redis."""

from __future__ import annotations

import json
import pickle
import zlib

import redis
from rq import Queue

from harness import tasks
from harness.workers import run_burst
from harness.workload import bulk_jobs
from qwatch.limits import FUNCTION_LIMIT, SEARCH_BATCH, SEARCHED_CHARACTERS
from qwatch.model import SearchRequest
from qwatch.pickle import decode
from qwatch.watch import Watch
from tests.cli.test_cli import run_cli
from tests.properties.hostile_rq import BOMBS, ZLIB_BOMB
from tests.rq.test_browse import CommandCount


def test_a_job_is_found_by_its_arguments_its_error_or_its_id_in_any_state(
    client: redis.Redis, url: str
) -> None:
    emails = Queue("emails", connection=client)
    sent = emails.enqueue(tasks.send_email, "customer-4711@example.com", "receipt")
    broken = emails.enqueue(tasks.fail, "mailbox of customer 4711 is full")
    run_burst(url, ["emails"])
    waiting = Queue("reports", connection=client).enqueue(tasks.crawl, "https://shop/4711")
    Queue("other", connection=client).enqueue(tasks.add, 1, 2)
    watch = Watch(client)
    found = watch.searched(SearchRequest("4711"))
    assert found.done and found.stopped is None
    assert {(hit.id, hit.queue, hit.state) for hit in found.hits} == {
        (sent.id, "emails", "finished"),
        (broken.id, "emails", "failed"),
        (waiting.id, "reports", "queued"),
    }
    (queued,) = [hit for hit in found.hits if hit.id == waiting.id]
    assert queued.detail == "harness.tasks.crawl('https://shop/4711')"  # where it was found
    (failure,) = watch.searched(SearchRequest("ValueError", states=("failed",))).hits
    assert failure.id == broken.id and "mailbox of customer 4711" in (failure.detail or "")
    assert [hit.id for hit in watch.searched(SearchRequest(sent.id[:13])).hits] == [sent.id]
    regex = watch.searched(SearchRequest(r"customer[- ]4711", regex=True))
    assert {hit.id for hit in regex.hits} == {sent.id, broken.id}
    assert watch.searched(SearchRequest("4711", queues=("other",))).hits == ()


def test_a_search_stops_at_its_budget_and_says_how_far_it_got(client: redis.Redis) -> None:
    bulk_jobs(client, "big", 3000)
    watch = Watch(client)
    stopped = watch.searched(SearchRequest("no such text", budget=1500))
    assert (stopped.stopped, stopped.scanned, stopped.done) == ("budget", 1500, False)
    assert stopped.total == 6000  # queued and finished
    limited = watch.searched(SearchRequest("big-0", limit=5))
    assert (len(limited.hits), limited.stopped) == (5, "limit")


def test_each_batch_costs_two_round_trips_of_bounded_commands(client: redis.Redis) -> None:
    bulk_jobs(client, "big", 3000)
    for n in range(50):
        Queue(f"empty-{n}", connection=client)
    watch = Watch(client)
    watch.systems()
    count = CommandCount(client)
    progress = watch.searched(SearchRequest("no such text"))
    assert progress.done and progress.scanned == 6000
    batches = 6000 // SEARCH_BATCH
    # the queues' names, their lengths, then per batch its ranges and each entry's hash and
    # newest result (finished jobs)
    assert count.since() <= 1 + 9 * 51 + batches * 2 + 3000 + 3000 * 2


def test_the_command_prints_newest_first_and_says_when_it_stopped(
    client: redis.Redis, url: str
) -> None:
    bulk_jobs(client, "big", 1200)
    shown = run_cli("search", "big-0000", "--url", url, "--system", "rq")
    assert shown.returncode == 0, shown.stderr
    assert "big-00001" in shown.stdout and "everything searched" in shown.stdout
    cut = run_cli("search", "nothing", "--url", url, "--budget", "100", "--system", "rq")
    assert cut.returncode == 1 and "stopped at the budget (--budget searches further)" in cut.stdout
    data = json.loads(run_cli("search", "big-0001", "--url", url, "--json").stdout)
    assert data["done"] and {hit["state"] for hit in data["hits"]} == {"queued", "finished"}
    bad = run_cli("search", "(", "--regex", "--url", url)
    assert bad.returncode == 2 and "not a regular expression" in bad.stderr


def test_hostile_jobs_cost_their_budget_and_a_placeholder_never_a_hang(
    client: redis.Redis,
) -> None:
    queue = Queue("hostile", connection=client)
    normal = queue.enqueue(tasks.send_email, "customer-4711@example.com", "receipt")
    ten_mb = 10 << 20
    hostile = {
        "bomb-laughs": zlib.compress(BOMBS[0]),
        "bomb-zlib": ZLIB_BOMB,
        "bomb-10mb-raw": b"\x80\x05" + b"\xff" * ten_mb,
        "bomb-10mb-args": zlib.compress(pickle.dumps(("f", None, ("4711" * (ten_mb // 4),), {}))),
    }
    for job_id, data in hostile.items():
        client.hset(f"rq:job:{job_id}", mapping={"data": data, "status": "queued"})
        client.rpush("rq:queue:hostile", job_id)
    late = "x" * max(ten_mb, SEARCHED_CHARACTERS) + " customer 4711"
    client.hset("rq:job:bomb-long", mapping={"description": late, "status": "queued"})
    client.rpush("rq:queue:hostile", "bomb-long")
    watch = Watch(client)
    before = decode.work_done()
    found = watch.searched(SearchRequest("4711"))
    assert found.done and found.scanned == 1 + len(hostile) + 1
    assert [hit.id for hit in found.hits] == [normal.id]  # nothing past the characters searched
    bombs = {hit.id: hit.function for hit in watch.searched(SearchRequest("bomb-")).hits}
    assert set(bombs) == {*hostile, "bomb-long"}
    assert bombs["bomb-zlib"] == bombs["bomb-10mb-raw"] == bombs["bomb-10mb-args"]
    too_big = f"<undecodable job data: larger than {decode.MAX_PICKLE_BYTES} bytes>"
    assert bombs["bomb-zlib"] == too_big
    assert bombs["bomb-laughs"].startswith("<unexpected job data: [[[[")
    assert all(len(name) <= FUNCTION_LIMIT + 40 for name in bombs.values()), "cut, with a note"
    assert decode.work_done().most_steps <= decode.MAX_STEPS
    assert decode.work_done().steps - before.steps <= 20 * decode.MAX_STEPS
