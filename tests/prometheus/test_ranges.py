"""A Prometheus that answers oddly costs one line, never a crash: an HTTP server in this
process stands in for it, answering each query with what the test gives."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qwatch.prometheus.ranges import ANSWER_BYTES, POINTS, PrometheusError, Window, line

WINDOW = Window(end=36_000.0, span=7200.0)


class Answers(BaseHTTPRequestHandler):
    body = b""
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args: object) -> None:
        """Quiet."""


@pytest.fixture
def prometheus() -> Iterator[type[Answers]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Answers.url = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    yield Answers
    server.shutdown()


def matrix(*series: object) -> bytes:
    return json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": list(series)}}
    ).encode()


def asked(answers: type[Answers], body: bytes, status: int = 200) -> list[float]:
    answers.body, answers.status = body, status
    return line(answers.url, "sum(x)", WINDOW)  # type: ignore[attr-defined]


def test_points_land_in_their_steps_and_odd_values_are_gaps(prometheus: type[Answers]) -> None:
    start, step = WINDOW.start, WINDOW.step
    values = [[start, "1"], [start + step, "NaN"], [start + 2 * step, "x"], [start + 5 * step, "7"]]
    got = asked(prometheus, matrix({"metric": {}, "values": [*values, "junk", [1]]}))
    assert len(got) == POINTS and got[0] == 1.0 and got[5] == 7.0
    assert all(math.isnan(v) for v in got[1:5])


def test_no_series_is_a_line_of_gaps(prometheus: type[Answers]) -> None:
    assert all(math.isnan(v) for v in asked(prometheus, matrix()))


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        (b"<html>", 200, "not JSON"),
        (b'{"status": "error", "error": "parse error"}', 400, "answered 400"),
        (b'{"status": "error", "error": "parse error"}', 200, "refused the query: parse error"),
        (b'{"status": "success", "data": {"resultType": "vector", "result": []}}', 200, "range"),
        (b'{"status": "success", "data": {"resultType": "matrix"}}', 200, "no result"),
        (matrix({"values": []}, {"values": []}), 200, "2 series"),
        (b" " * (ANSWER_BYTES + 10), 200, "over 4 MiB"),
    ],
)
def test_an_odd_answer_is_one_line(
    prometheus: type[Answers], body: bytes, status: int, said: str
) -> None:
    with pytest.raises(PrometheusError, match=said):
        asked(prometheus, body, status)
