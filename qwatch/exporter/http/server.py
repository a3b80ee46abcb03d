"""The exporter's HTTP server: `/metrics`, `/healthz` and the web dashboard.

Plain `http.server`, one thread per connection: a scrape is one request every
few seconds, and each request waits for the shared collection, so there is
nothing to gain from an async framework. What a network can throw at it is
bounded: a deep listen backlog for many scrapers arriving at once, a limited
number of connections where slow or half-open ones make room for new ones
(`connections.py`), a read timeout, small limits on the request line and
headers, and GET and HEAD only (and POST for the dashboard's actions, when
they are on, with a small body). TLS handshakes happen in the connection's
thread, so a client that stalls mid-handshake holds up nobody else.
"""

from __future__ import annotations

import gc
import io
import logging
import signal
import socket
import ssl
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from qwatch import __version__
from qwatch.errors import TargetError
from qwatch.exporter import metrics
from qwatch.exporter.collector import QwatchCollector, RedisSource
from qwatch.exporter.exposition import TextFormat, written_by_qwatch
from qwatch.exporter.http.connections import Connection, ConnectionSlots
from qwatch.exporter.http.web_config import WebConfig
from qwatch.exporter.metrics import Reading
from qwatch.web import REFRESH
from qwatch.web.dashboard import Dashboard, Request, Response

BACKLOG = 512
"""Connections the kernel queues before they are accepted (capped by net.core.somaxconn):
with the default of 5, fifty scrapers arriving together wait for SYN retransmits."""
MAX_CONNECTIONS = 256
"""Open connections, hence threads and file descriptors, at most."""
READ_TIMEOUT = 10.0
"""Seconds any one read or write on a connection may block."""
REQUEST_DEADLINE = 10.0
"""Seconds from accepting a connection to having its whole request (TLS handshake included)."""
MAX_REQUEST_LINE = 8192
MAX_HEADER_BYTES = 16384
MAX_HEADERS = 64
METHODS = ("GET", "HEAD")
MAX_FORM_BYTES = 8192
"""An action's form: a few short fields."""
log = logging.getLogger("qwatch.exporter")


class ExporterServer(HTTPServer):
    """Serves one registry, behind the optional TLS and basic auth of a web config."""

    request_queue_size = BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        collector: QwatchCollector,
        web: WebConfig,
        max_connections: int = MAX_CONNECTIONS,
        request_deadline: float = REQUEST_DEADLINE,
        actions: bool = False,
        refresh: float = REFRESH,
        hosts: Sequence[str] = (),
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        self.collector = collector
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(collector)
        self.web = web
        self.dashboard = Dashboard(collector.sources, collector.timeout, actions, refresh, hosts)
        self._health_format = TextFormat()
        self._shared_format = TextFormat()
        self._render_lock = threading.Lock()
        self._last: dict[bool, tuple[tuple[Reading, ...], bytes]] = {}
        self.slots = ConnectionSlots(max_connections, request_deadline)
        self._current = threading.local()

    @property
    def sources(self) -> Sequence[RedisSource]:
        return self.collector.sources

    @property
    def scheme(self) -> str:
        return "https" if self.web.tls else "http"

    def process_request(self, request: Any, client_address: Any) -> None:
        connection = self.slots.admit(request)
        if connection is None:
            log.info("refused %s: every connection is busy", client_address[0])
            self.shutdown_request(request)
            return
        threading.Thread(target=self._serve, args=(connection, client_address), daemon=True).start()

    def _serve(self, connection: Connection, client_address: Any) -> None:
        connection.sock.settimeout(READ_TIMEOUT)
        self._current.connection = connection
        try:
            if self.web.tls is not None:
                connection.sock = self.web.tls.wrap(connection.sock)
                self.web.tls.handshake(connection.sock)
            self.finish_request(connection.sock, client_address)
        except (OSError, ssl.SSLError, ValueError) as exc:
            log.info("connection from %s ended: %s", client_address[0], exc)
        except Exception:  # a bug must cost one connection, never the server
            log.exception("request from %s failed", client_address[0])
        finally:
            self.slots.done(connection)
            self.shutdown_request(connection.sock)

    def metrics_text(self, openmetrics: bool) -> bytes:
        """/metrics written by qwatch; scrapes sharing a reading share its writing too."""
        health, shared = self.collector.read_parts()
        with self._render_lock:
            written, text = self._last.get(openmetrics, ((), b""))
            if len(written) != len(shared) or any(a is not b for a, b in zip(written, shared)):
                text = self._shared_format.render(metrics.merge(shared), openmetrics)
                self._last[openmetrics] = shared, text
            head = self._health_format.render(health, openmetrics, ends=False)
            return head + text

    def request_arrived(self) -> None:
        """Called by the handler once the request is read: the connection is not evicted."""
        self.slots.started(self._current.connection)

    def service_actions(self) -> None:
        """Runs between accepts in `serve_forever`: shuts connections out of time."""
        self.slots.expire()


class _Handler(BaseHTTPRequestHandler):
    server: ExporterServer
    server_version = f"qwatch/{__version__}"

    def handle_one_request(self) -> None:
        """`BaseHTTPRequestHandler`'s, with small limits and GET and HEAD only."""
        self.close_connection = True
        self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
        if not self.raw_requestline:
            return
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.requestline, self.request_version, self.command = "", "", ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        head = self._read_head()
        if head is None:
            self.requestline, self.request_version, self.command = "", "", ""
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            return
        stream, self.rfile = self.rfile, io.BytesIO(head)
        try:
            parsed = self.parse_request()
        finally:
            self.rfile = stream
        if not parsed:
            return
        self.close_connection = True  # one request per connection, whatever was asked
        self.server.request_arrived()
        if self.command == "POST" and urlsplit(self.path).path.startswith("/actions/"):
            self._post()
        elif self.command not in METHODS:
            self._send(
                405,
                "text/plain; charset=utf-8",
                b"Method not allowed: GET or HEAD\n",
                {"Allow": ", ".join(METHODS)},
            )
        else:
            self._respond()
        self.wfile.flush()

    def _post(self) -> None:
        """An action of the dashboard: a small urlencoded form, behind the same auth."""
        if not self._authorized():
            return
        given = self.headers.get("Content-Length", "")
        if not (given.isascii() and given.isdigit()):
            self._send(411, "text/plain; charset=utf-8", b"An action's form needs its length\n")
            return
        length = int(given)
        if length > MAX_FORM_BYTES:
            self._send(413, "text/plain; charset=utf-8", b"An action's form is small\n")
            return
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
        self._answer(self.server.dashboard.respond(self._request(form)))

    def _read_head(self) -> bytes | None:
        """The header lines up to the blank one, or None past the limits."""
        lines: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(MAX_HEADER_BYTES + 1)
            size += len(line)
            if size > MAX_HEADER_BYTES or len(lines) > MAX_HEADERS:
                return None
            lines.append(line)
            if line in (b"\r\n", b"\n", b""):
                return b"".join(lines)

    def _authorized(self) -> bool:
        auth = self.server.web.auth
        if auth is not None and not auth.allows(self.headers.get("Authorization")):
            self._send(
                401,
                "text/plain; charset=utf-8",
                b"Unauthorized\n",
                {"WWW-Authenticate": 'Basic realm="qwatch"'},
            )
            return False
        return True

    def _request(self, form: dict[str, str] | None = None) -> Request:
        path, _, query = self.path.partition("?")  # a path, never a host: `//x/` is a path
        return Request(
            method=self.command,
            path=path.partition("#")[0],
            query=dict(parse_qsl(query.partition("#")[0])),
            form=form or {},
            fragment=self.headers.get("X-Qwatch-Fragment") == "1",
            origin=self.headers.get("Origin"),
            host=self.headers.get("Host"),
            client=self.client_address[0],
        )

    def _answer(self, response: Response) -> None:
        self._send(response.status, response.content_type, response.body, dict(response.headers))

    def _respond(self) -> None:
        if not self._authorized():
            return
        path = urlsplit(self.path).path
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            openmetrics = written_by_qwatch(content_type)
            with self.server.collector.answering():
                if openmetrics is None:
                    body = encoder(self.server.registry)
                else:
                    body = self.server.metrics_text(openmetrics)
                self._send(200, content_type, body)
        elif path == "/healthz":
            self._send(200, "text/plain; charset=utf-8", b"ok\n")
        elif self.server.dashboard.is_page(path):
            self._answer(self.server.dashboard.respond(self._request()))
        else:
            self._send(404, "text/plain; charset=utf-8", b"Not found: try / or /metrics\n")

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**self.server.web.headers, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def make_server(
    listen: tuple[str, int],
    sources: Sequence[RedisSource],
    timeout: float,
    web: WebConfig,
    max_connections: int = MAX_CONNECTIONS,
    request_deadline: float = REQUEST_DEADLINE,
    actions: bool = False,
    refresh: float = REFRESH,
    hosts: Sequence[str] = (),
) -> ExporterServer:
    """A bound server whose registry holds the qwatch collector; each source starts tracking.
    `actions`: the dashboard may requeue, delete and empty, each confirmed; `refresh`: the
    seconds between two refreshes of its pages; `hosts`: names its actions may be sent to."""
    try:
        server = ExporterServer(
            listen,
            QwatchCollector(sources, timeout),
            web,
            max_connections,
            request_deadline,
            actions,
            refresh,
            hosts,
        )
    except OSError as exc:
        raise TargetError(
            f"cannot listen on {listen[0] or '*'}:{listen[1]}: {exc.strerror or exc}"
        ) from exc
    for source in sources:
        source.start()
    return server


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
