"""The exporter's HTTP server: `/metrics`, `/healthz` and a landing page.

Plain `http.server` threads: a scrape is one request every few seconds, and
each request runs the collection itself, so there is nothing to gain from an
async framework. TLS handshakes happen in the request's thread, so a client
that stalls mid-handshake holds up nobody else.
"""

from __future__ import annotations

import gc
import html
import logging
import signal
import socket
import ssl
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from qwatch import __version__
from qwatch.errors import TargetError
from qwatch.exporter import DEFAULT_PORT
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.exporter.exposition import TextFormat, written_by_qwatch
from qwatch.exporter.web_config import WebConfig

REQUEST_TIMEOUT = 30.0
log = logging.getLogger("qwatch.exporter")


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` (every interface) or `[::1]:PORT`."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise TargetError(f"--listen wants HOST:PORT, e.g. :{DEFAULT_PORT}, not {text!r}")
    return host.strip("[]"), int(port)


class ExporterServer(ThreadingHTTPServer):
    """Serves one registry, behind the optional TLS and basic auth of a web config."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        collector: QwatchCollector,
        web: WebConfig,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        self.collector = collector
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(collector)
        self.text_format = TextFormat()
        self.web = web

    @property
    def sources(self) -> Sequence[RedisSource]:
        return self.collector.sources

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.web.tls is not None:
            request.settimeout(REQUEST_TIMEOUT)
            try:
                request = self.web.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                log.info("TLS handshake with %s failed: %s", client_address[0], exc)
                request.close()
                return
        super().finish_request(request, client_address)

    @property
    def scheme(self) -> str:
        return "https" if self.web.tls else "http"


class _Handler(BaseHTTPRequestHandler):
    server: ExporterServer
    timeout = REQUEST_TIMEOUT
    server_version = f"qwatch/{__version__}"

    def do_GET(self) -> None:
        auth = self.server.web.auth
        if auth is not None and not auth.allows(self.headers.get("Authorization")):
            self._send(
                401,
                "text/plain; charset=utf-8",
                b"Unauthorized\n",
                {"WWW-Authenticate": 'Basic realm="qwatch"'},
            )
            return
        path = urlsplit(self.path).path
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            openmetrics = written_by_qwatch(content_type)
            if openmetrics is None:
                body = encoder(self.server.registry)
            else:
                reading = self.server.collector.read()
                body = self.server.text_format.render(reading, openmetrics)
            self._send(200, content_type, body)
        elif path == "/healthz":
            self._send(200, "text/plain; charset=utf-8", b"ok\n")
        elif path == "/":
            self._send(200, "text/html; charset=utf-8", self._landing_page())
        else:
            self._send(404, "text/plain; charset=utf-8", b"Not found: try /metrics\n")

    def _landing_page(self) -> bytes:
        names = "".join(f"<li>{html.escape(source.name)}</li>" for source in self.server.sources)
        return (
            "<!doctype html><html><head><title>qwatch exporter</title></head><body>"
            f"<h1>qwatch {html.escape(__version__)}</h1>"
            "<p>Prometheus exporter for RQ task queues.</p>"
            f'<p><a href="/metrics">/metrics</a> &middot; <a href="/healthz">/healthz</a></p>'
            f"<p>Watching:</p><ul>{names}</ul></body></html>\n"
        ).encode()

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def make_server(
    listen: tuple[str, int], sources: Sequence[RedisSource], timeout: float, web: WebConfig
) -> ExporterServer:
    """A bound server whose registry holds the qwatch collector and nothing else."""
    try:
        return ExporterServer(listen, QwatchCollector(sources, timeout), web)
    except OSError as exc:
        raise TargetError(
            f"cannot listen on {listen[0] or '*'}:{listen[1]}: {exc.strerror or exc}"
        ) from exc


GC_THRESHOLDS = (100_000, 50, 100)
"""Each scrape allocates some 100,000 short-lived, acyclic objects that reference
counting frees; with Python's default thresholds the cycle collector would
also rescan every long-lived object several times per scrape, which costs
more than a fifth of it. Cycles are still collected, just less often."""


def serve_until_stopped(server: ExporterServer) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    gc.set_threshold(*GC_THRESHOLDS)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    host, port = server.server_address[:2]
    log.warning("listening on %s://%s:%s/metrics", server.scheme, host, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for source in server.sources:
            source.close()
