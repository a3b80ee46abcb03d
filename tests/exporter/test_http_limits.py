"""What a network can throw at the exporter costs one refused connection, never a scrape."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import redis
from rq import Queue

from harness import tasks
from harness.polling import wait_until
from qwatch.exporter import metrics
from qwatch.exporter.exposition import TextFormat
from qwatch.exporter.http.server import MAX_CONNECTIONS
from qwatch.exporter.metrics import Reading
from tests.exporter.conftest import Exporter, StartExporter, parse


def connect(exporter: Exporter) -> socket.socket:
    sock = socket.create_connection(exporter.address, timeout=30)
    return sock


def exchange(exporter: Exporter, request: bytes) -> bytes:
    """Send raw bytes, read the whole answer."""
    with connect(exporter) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def closed_while_trickling(sock: socket.socket, byte: bytes, most: int = 300) -> bool:
    """Send a byte every 0.1 s, as a slowloris does, until the server closes the connection."""
    for _ in range(most):
        readable, _writable, _errors = select.select([sock], [], [], 0.1)
        if readable:
            return sock.recv(1) == b""
        sock.sendall(byte)
    return False


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.fixture
def slow_clients() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def test_many_slow_clients_never_stop_a_scrape(
    start_exporter: StartExporter, slow_clients: ExitStack
) -> None:
    exporter = start_exporter()
    threads_before = threading.active_count()
    for i in range(MAX_CONNECTIONS + 100):
        sock = slow_clients.enter_context(connect(exporter))
        # a slowloris: a request that is never finished, or nothing at all
        sock.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: " if i % 2 else b"")
    assert exporter.scrape().value("qwatch_up", redis="main") == 1
    assert exporter.server.slots.open <= MAX_CONNECTIONS
    assert threading.active_count() - threads_before <= MAX_CONNECTIONS + 2
    assert exporter.server.slots.evicted >= 100


def test_a_connection_that_never_sends_its_request_is_closed(
    start_exporter: StartExporter,
) -> None:
    exporter = start_exporter(request_deadline=0.5)
    with connect(exporter) as silent, connect(exporter) as trickling:
        trickling.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
        assert closed_while_trickling(trickling, b"x")  # each byte restarts the read timeout
        assert silent.recv(1) == b""
    wait_until(lambda: exporter.server.slots.open == 0, "the slots to be free")
    assert exporter.scrape().value("qwatch_up", redis="main") == 1


def test_scrapers_arriving_at_once_all_wait_in_the_backlog(start_exporter: StartExporter) -> None:
    exporter = start_exporter()
    exporter.server.shutdown()  # not accepting: connections wait in the listen backlog
    with ExitStack() as stack:
        waiting = [
            stack.enter_context(socket.create_connection(exporter.address, 5)) for _ in range(100)
        ]
        for sock in waiting:
            sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        exporter.thread = threading.Thread(target=exporter.server.serve_forever, daemon=True)
        exporter.thread.start()
        answers = [sock.makefile("rb").read() for sock in waiting]
    assert all(status(answer) == 200 and answer.endswith(b"ok\n") for answer in answers)


def test_oversized_request_line_and_headers_are_refused(start_exporter: StartExporter) -> None:
    exporter = start_exporter()
    long_path = b"GET /metrics?" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n"
    assert status(exchange(exporter, long_path)) == 414
    big_header = b"GET /metrics HTTP/1.1\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n"
    assert status(exchange(exporter, big_header)) == 431
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(200))
    assert status(exchange(exporter, b"GET /metrics HTTP/1.1\r\n" + many + b"\r\n")) == 431
    assert exporter.scrape().value("qwatch_up", redis="main") == 1


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"DELETE", b"OPTIONS", b"TRACE", b"BREW"])
def test_methods_other_than_get_and_head_are_refused(
    start_exporter: StartExporter, method: bytes
) -> None:
    exporter = start_exporter()
    answer = exchange(exporter, method + b" /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    assert status(answer) == 405
    assert b"\r\nAllow: GET, HEAD\r\n" in answer


def test_head_answers_without_a_body(start_exporter: StartExporter) -> None:
    exporter = start_exporter()
    answer = exchange(exporter, b"HEAD /metrics HTTP/1.1\r\n\r\n")
    head, _sep, body = answer.partition(b"\r\n\r\n")
    assert status(answer) == 200 and b"Content-Length: " in head and body == b""


def test_scrapes_sharing_a_reading_share_its_text(
    client: redis.Redis, start_exporter: StartExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    Queue("default", connection=client).enqueue(tasks.add, 1, 1)
    exporter = start_exporter()
    server = exporter.server
    health, shared = server.collector.read_parts()
    monkeypatch.setattr(server.collector, "read_parts", lambda: (health, shared))
    writes = []
    render = TextFormat.render

    def counting(
        self: TextFormat, reading: Reading, openmetrics: bool = False, ends: bool = True
    ) -> bytes:
        writes.append(len(reading))
        return render(self, reading, openmetrics, ends)

    monkeypatch.setattr(TextFormat, "render", counting)
    texts = {server.metrics_text(openmetrics=False) for _ in range(5)}
    assert len(writes) == 5 + 1  # the health series each time, the shared reading once
    assert texts == {TextFormat().render(metrics.merge([health, *shared]))}
    scrape = parse(texts.pop().decode())
    assert scrape.value("qwatch_queue_jobs", redis="main", queue="default", state="queued") == 1
