"""An in-process `qwatch serve` on a free port, and a scraper that parses what it serves."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.redis_server import RedisServer
from qwatch.exporter.collector import RedisSource
from qwatch.exporter.http.server import REQUEST_DEADLINE, ExporterServer, make_server
from qwatch.exporter.http.web_config import WebConfig
from qwatch.wire.connection import Target, connect

Labels = tuple[tuple[str, str], ...]


@dataclass
class Scrape:
    """One parsed /metrics answer: sample values by name and sorted labels."""

    samples: dict[str, dict[Labels, float]]

    def value(self, name: str, **labels: str) -> float:
        """The one series with these labels, as a PromQL selector finds it: labels not
        named (`system` on an RQ-only Redis) may be anything, but only one series may match."""
        found = list(self.matching(name, **labels).values())
        if len(found) != 1:
            raise KeyError(f"{name} {labels}: {len(found)} series")
        return found[0]

    def series(self, name: str) -> dict[Labels, float]:
        return self.samples.get(name, {})

    def matching(self, name: str, **labels: str) -> dict[Labels, float]:
        return {
            key: value
            for key, value in self.series(name).items()
            if all(item in key for item in labels.items())
        }


def parse(text: str) -> Scrape:
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return Scrape(samples)


class Exporter:
    """A running exporter; `scrape()` fetches and parses /metrics."""

    def __init__(self, server: ExporterServer) -> None:
        self.server = server
        self.address = ("127.0.0.1", int(server.server_address[1]))
        self.url = f"http://127.0.0.1:{self.address[1]}"
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    def get(
        self, path: str = "/metrics", headers: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()

    def track(self) -> None:
        """Have every tracker poll once more, as its own clock would, and wait for it."""
        for source in self.server.sources:
            following = source.following
            assert following.wait_past(following.poll_soon()), "the tracker did not poll"

    def scrape(self, track: bool = True) -> Scrape:
        """/metrics, after the trackers have polled (unless `track` is False)."""
        if track:
            self.track()
        status, _type, body = self.get()
        assert status == 200
        return parse(body)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        for source in self.server.sources:
            source.close()


StartExporter = Callable[..., Exporter]


@pytest.fixture
def start_exporter(redis_server: RedisServer) -> Iterator[StartExporter]:
    """Start exporters on free ports against the test Redis; all stopped after the test.

    Their trackers poll once at start, then only when `Exporter.track` asks.
    """
    started: list[Exporter] = []

    def start(
        name: str = "main",
        timeout: float = 5.0,
        web: WebConfig | None = None,
        url: str | None = None,
        request_deadline: float = REQUEST_DEADLINE,
        port: int = 0,
        **options: object,
    ) -> Exporter:
        client = connect(Target(url=url or redis_server.url, timeout=timeout))
        options.setdefault("track_interval", 3600.0)  # polls when a test asks: deterministic
        source = RedisSource(name, client, **options)  # type: ignore[arg-type]
        server = make_server(
            ("127.0.0.1", port),
            [source],
            timeout,
            web or WebConfig(),
            request_deadline=request_deadline,
        )
        exporter = Exporter(server)
        started.append(exporter)
        assert source.following.wait_past(0), "the tracker's first poll"
        return exporter

    yield start
    for exporter in started:
        exporter.stop()
