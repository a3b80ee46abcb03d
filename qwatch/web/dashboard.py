"""The web dashboard of `qwatch serve`: pages and JSON from the exporter's readings.

The overview is drawn from the last reading with details of each Redis, read
again only when it is older than `refresh` seconds, so any number of open
pages costs one reading each refresh, shared with the scrapes. A job page or
a queue's page is one read through `Watch`, in that Redis's reading thread.
Every page is rendered by Jinja2 with autoescaping on: text from Redis is
text, whatever markup it holds. The pages refresh themselves by asking for
their `<main>` again (`static/qwatch.js`), and say how old their data is.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import jinja2
import redis

from qwatch import __version__
from qwatch.errors import QwatchError, redis_reason
from qwatch.exporter.collector import Overview, RedisSource
from qwatch.history.moments import MOMENTS_KEPT
from qwatch.history.recorder import HOUR
from qwatch.limits import PAGE_LIMIT, SEARCH_BUDGETS, SEARCH_SECONDS
from qwatch.model import (
    ARQ,
    CELERY,
    DRAMATIQ,
    RQ,
    SYSTEMS,
    PageRequest,
    QueueStats,
    SearchProgress,
    SearchRequest,
)
from qwatch.text.formatting import duration
from qwatch.text.headline import headline, problems
from qwatch.text.listing import (
    ATTEMPT_COLUMNS,
    attempt_rows,
    detail_rows,
    logs_note,
    logs_text,
    search_summary,
    summary,
)
from qwatch.text.printable import printable, printable_lines
from qwatch.watch import ARQ_STATES, CELERY_STATES, DRAMATIQ_STATES, LISTED_STATES, Watch
from qwatch.web import REFRESH, history, tables
from qwatch.web.actions import ACTIONS, REGISTRIES, Form, Guard

log = logging.getLogger("qwatch.exporter")
T = TypeVar("T")
PAGE_SIZE = 50
MOMENTS_SHOWN = 10
"""The overview's newest moments; `/events` has every one kept."""
MAX_DRAWN = 16
"""Overviews kept drawn: one per Redis picked and per whole-or-fragment, for the last readings."""
HISTORY_LIMIT = 1000
"""Queues, and workers, `/api/history` gives at most unasked: each has hundreds of points."""
SEARCH_HINTS = {
    "limit": "the limit",
    "budget": "search further below",
    "time": "search further below",
}
"""How a search page says a search that stopped early goes further."""
STATIC = {
    "qwatch.css": "text/css; charset=utf-8",
    "qwatch.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Every page's: no script, style or image from anywhere but qwatch itself, no framing."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    form: Form = field(default_factory=dict)
    fragment: bool = False
    """Asked by the page's script: `<main>` alone."""
    origin: str | None = None
    host: str | None = None
    client: str = ""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: HEADERS)


class NotFound(Exception):
    """A page of nothing: an unknown Redis, queue, job or state."""


@dataclass(frozen=True, slots=True)
class Seen:
    """One Redis as a page shows it: its last overview, and whether it answers now."""

    name: str
    overview: Overview | None
    reason: str
    """Why the last reading failed, or empty."""

    @property
    def age(self) -> float | None:
        if self.overview is None:
            return None
        return max(0.0, time.time() - self.overview.snapshot.taken_at)


class Dashboard:
    """Every page and API answer of the dashboard, for the exporter's sources."""

    def __init__(
        self,
        sources: Sequence[RedisSource],
        timeout: float,
        actions: bool = False,
        refresh: float = REFRESH,
        hosts: Sequence[str] = (),
    ) -> None:
        """`hosts`: names besides addresses and this machine's that actions may be sent to."""
        self.sources = {source.name: source for source in sources}
        self.timeout = timeout
        self.actions = actions
        self.refresh = refresh
        self.guard = Guard(hosts)
        self._drawn: dict[tuple[object, ...], Response] = {}
        self._drawing = threading.Lock()
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("qwatch.web", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["duration"] = duration

    def respond(self, request: Request) -> Response:
        """The answer to one request; a bug costs this request a 500, never the server."""
        try:
            return self._route(request)
        except NotFound as missing:
            if request.path.startswith("/api/"):
                return _json({"error": str(missing)}, 404)
            return self._page("missing.html", request, {"what": str(missing)}, status=404)
        except (redis.RedisError, FutureTimeout, QwatchError) as exc:  # Redis down mid-page
            what = f"reading Redis failed: {redis_reason(exc) or 'no answer in time'}"
            if request.path.startswith("/api/"):
                return _json({"error": what}, 503)
            return self._page("unavailable.html", request, {"what": what}, status=503)
        except Exception:  # a bug costs this page, never the server
            log.exception("page %s failed", request.path)
            what = "qwatch failed to draw this page (logged)"
            return self._page("missing.html", request, {"what": what}, status=500)

    def _route(self, request: Request) -> Response:
        path = request.path
        if request.method == "POST":
            return self._act(request, unquote(path.removeprefix("/actions/")))
        if path.startswith("/static/"):
            return _static(path.removeprefix("/static/"))
        if path.startswith("/api/"):
            return self._api(request, path.removeprefix("/api"))
        if path == "/":
            return self._overview(request)
        if path == "/workers":
            return self._workers(request)
        if path == "/functions":
            return self._functions(request)
        if path == "/search":
            return self._search(request)
        if path == "/events":
            return self._events(request)
        if path.startswith("/queues/"):
            return self._queue(request, _queue_name(request, path.removeprefix("/queues/")))
        if path.startswith("/jobs/"):
            return self._job(request, unquote(path.removeprefix("/jobs/")))
        raise NotFound(f"no page {path}")

    def is_page(self, path: str) -> bool:
        """Whether the dashboard answers `path` (the exporter answers the rest)."""
        return path == "/" or path.startswith(
            (
                "/static/",
                "/api/",
                "/workers",
                "/functions",
                "/search",
                "/events",
                "/queues/",
                "/jobs/",
                "/actions/",
            )
        )

    def _seen(self, source: RedisSource) -> Seen:
        """The source's overview, read again when older than the refresh (shared, like a
        scrape's reading); the last one stays shown when Redis does not answer."""
        overview = source.overview
        if overview is None or time.time() - overview.snapshot.taken_at >= self.refresh:
            try:
                source.start_reading(details=True).result(timeout=self.timeout)
            except Exception as exc:  # the page says why and shows what it last saw
                return Seen(source.name, source.overview, redis_reason(exc) or "no answer")
        return Seen(source.name, source.overview, "")

    def _source(self, request: Request) -> RedisSource:
        """The Redis a page or an action names (`redis=`), else the first."""
        given = (
            request.form.get("redis") if request.method == "POST" else request.query.get("redis")
        )
        name = given or next(iter(self.sources))
        source = self.sources.get(name)
        if source is None:
            raise NotFound(f"no Redis named {name!r}")
        return source

    def _shown(self, request: Request) -> list[RedisSource]:
        """The Redis an overview shows: the one `redis=` names, else every one."""
        return [self._source(request)] if "redis" in request.query else [*self.sources.values()]

    def _run(self, source: RedisSource, read: Callable[[Watch], T]) -> T:
        return source.run(read, self.timeout)

    def _overview(self, request: Request) -> Response:
        """Drawn once per reading and shared by every page that asks meanwhile: at a thousand
        queues drawing costs more than serving, and twenty browsers must not draw it twenty
        times. The age on it is kept current by the page's script."""
        seens = [self._seen(source) for source in self._shown(request)]
        key = (
            request.fragment,
            request.query.get("redis"),
            request.query.get("q", ""),
            _window(request),
            *((s.name, id(s.overview), s.reason) for s in seens),
        )
        with self._drawing:  # pages arriving while it is drawn wait for it, then share it
            drawn = self._drawn.get(key)
            if drawn is None:
                if len(self._drawn) >= MAX_DRAWN:
                    self._drawn.clear()
                drawn = self._drawn[key] = self._draw_overview(request, seens)
        return drawn

    def _draw_overview(self, request: Request, seens: list[Seen]) -> Response:
        redis = []
        window = _window(request)
        for seen in seens:
            context: dict[str, Any] = {"seen": seen}
            if seen.overview is not None:
                snapshot = seen.overview.snapshot
                past = self.sources[seen.name].history
                _step, backlogs = past.queue_columns("queued", snapshot.taken_at)
                context.update(
                    throughput=history.throughput(seen.name, past, window, snapshot.taken_at),
                    moments=tables.moments(
                        seen.name, past.moments_newest_first(MOMENTS_SHOWN), time.time()
                    ),
                    headline=headline(snapshot),
                    problems=problems(snapshot, seen.overview.untracked),
                    notes=snapshot.notes,
                    queues=tables.queues(
                        seen.name,
                        snapshot,
                        seen.overview.trends,
                        backlogs,
                        request.query.get("q", ""),
                    ),
                    hosts=tables.hosts(snapshot),
                    rate_limits=tables.rate_limits(snapshot) if snapshot.rate_limits else None,
                    cron=tables.cron(snapshot) if snapshot.cron_schedulers else None,
                    failed=tables.failed(seen.name, seen.overview.failed[:10], snapshot.taken_at),
                )
            redis.append(context)
        context = {
            "redis": redis,
            "needle": request.query.get("q", ""),
            "window": window,
            "windows": history.WINDOWS,
        }
        return self._page("overview.html", request, context)

    def _workers(self, request: Request) -> Response:
        source = self._source(request)
        seen = self._seen(source)
        workers = None
        if seen.overview is not None:
            snapshot = seen.overview.snapshot
            _step, busy = source.history.worker_columns("busy", snapshot.taken_at)
            workers = tables.workers(snapshot.workers, busy)
        return self._page("workers.html", request, {"seen": seen, "workers": workers})

    def _events(self, request: Request) -> Response:
        """Every moment the history keeps, newest first."""
        source = self._source(request)
        moments = source.history.moments_newest_first(MOMENTS_KEPT)
        context = {
            "redis": source.name,
            "moments": tables.moments(source.name, moments, time.time()),
        }
        return self._page("events.html", request, context)

    def _functions(self, request: Request) -> Response:
        source = self._source(request)
        seen = self._seen(source)
        functions = None
        sampled = False
        if seen.overview is not None:
            queues = [queue.name for queue in seen.overview.snapshot.only(RQ).queues]
            counts = self._run(source, lambda watch: watch.function_counts(queues))
            sampled = counts.sampled
            functions = tables.functions(
                {row.function: (row.queued, row.started, row.failed) for row in counts.rows},
                seen.overview.recent,
            )
        context = {"seen": seen, "functions": functions, "sampled": sampled}
        return self._page("functions.html", request, context)

    def _search(self, request: Request) -> Response:
        """The jobs that hold `q=`, found within the default budget (`budget=` and
        `seconds=` raise it): a page waits for its search, which reads nothing while nobody
        searches."""
        source = self._source(request)
        progress = self._searched(source, request) if request.query.get("q") else None
        hits = None
        if progress is not None:
            hits = tables.search(source.name, progress)
        context = {
            "redis": source.name,
            "needle": request.query.get("q", ""),
            "progress": progress,
            "summary": search_summary(progress, SEARCH_HINTS) if progress else "",
            "further": _further(progress) if progress else None,
            "hits": hits,
            "live": False,
        }
        return self._page("search.html", request, context)

    def _searched(self, source: RedisSource, request: Request) -> SearchProgress:
        """Where a search of `request`'s query ended or stopped, run in the Redis's thread."""
        try:
            asked = SearchRequest(
                request.query["q"],
                regex=request.query.get("regex") == "1",
                limit=_number(request.query.get("limit", "100"), 1, PAGE_LIMIT),
                budget=_number(request.query.get("budget", "100000"), *SEARCH_BUDGETS),
                seconds=_number(request.query.get("seconds", "10"), 1, int(SEARCH_SECONDS[1])),
            )
        except re.error as exc:
            raise NotFound(f"not a regular expression: {exc}") from None

        return source.run(lambda watch: watch.searched(asked), asked.seconds + self.timeout)

    def _queue(self, request: Request, queue: str) -> Response:
        source = self._source(request)
        system, state = _system_and_state(request)
        page = self._read_page(
            source, system, PageRequest(queue, state, _offset(request), PAGE_SIZE)
        )
        if system == CELERY:
            listed = tables.messages(source.name, state, page.jobs, page.taken_at)
        else:
            listed = tables.jobs(source.name, state, page.jobs, page.taken_at)
        stats = self._stats(source, system, queue)
        window = _window(request)
        measured = source.history.queue(system, queue, window)
        context = {
            "charts": history.queue(measured, window, time.time()) if measured else (),
            "window": window,
            "windows": history.WINDOWS,
            "redis": source.name,
            "queue": queue,
            "system": system,
            "state": state,
            "states": [(name, _count_in(stats, name)) for name in _states(system)],
            "page": page,
            "summary": summary(page),
            "jobs": listed,
            "registries": REGISTRIES,
        }
        return self._page("queue.html", request, context)

    def _read_page(self, source: RedisSource, system: str, request: PageRequest) -> Any:
        """A page of an RQ or arq queue's jobs or a Celery or Dramatiq queue's messages; a
        queue Redis does not know is not there."""
        if system == DRAMATIQ:
            page = self._run(source, lambda watch: watch.dramatiq_page(request))
            if not page.queue_known:
                raise NotFound(f"no Dramatiq queue {request.queue!r} in {source.name}")
            return page
        if system == ARQ:
            page = self._run(source, lambda watch: watch.arq_page(request))
            if not page.queue_known:
                raise NotFound(f"no arq queue {request.queue!r} in {source.name}")
            return page
        if system == CELERY:
            known = self._run(source, lambda watch: request.queue in watch.celery_queues)
            if not known:
                raise NotFound(f"no Celery queue {request.queue!r} in {source.name}")
            return self._run(source, lambda watch: watch.celery_page(request))
        page = self._run(source, lambda watch: watch.page(request))
        if not page.queue_known and not page.total:
            raise NotFound(f"no queue {request.queue!r} in {source.name}")
        return page

    def _stats(self, source: RedisSource, system: str, queue: str) -> QueueStats | None:
        """The queue as the last overview counted it, for its tabs' counts."""
        overview = source.overview
        if overview is None:
            return None
        found = (q for q in overview.snapshot.queues if q.system == system and q.name == queue)
        return next(found, None)

    def _job(self, request: Request, job_id: str) -> Response:
        source = self._source(request)
        found = self._run(source, lambda watch: watch.find(job_id))
        job = found.job
        if job is None:
            raise NotFound(f"no job {job_id!r} in {source.name}")
        context = {
            "redis": source.name,
            "job": job,
            "fields": [(label, printable_lines(value)) for label, value in detail_rows(job)],
            "attempt_headers": ATTEMPT_COLUMNS,
            "attempts": [tuple(map(printable, row)) for row in attempt_rows(job)],
            "traceback": printable_lines(job.traceback) if job.traceback else None,
            "logs": logs_text(job),
            "logs_note": logs_note(job),
            "failed": job.system == RQ and job.status == "failed",
            "origin_href": tables.queue_href(source.name, job.system, job.origin)
            if job.origin
            else None,
        }
        return self._page("job.html", request, context)

    def _api(self, request: Request, path: str) -> Response:
        if path == "/overview":
            return _json([_overview_dict(self._seen(s)) for s in self._shown(request)])
        source = self._source(request)
        if path == "/history":
            return _json(_history_dict(source, request))
        if path == "/events":
            limit = _number(request.query.get("limit", "100"), 1, MOMENTS_KEPT)
            moments = source.history.moments_newest_first(limit)
            return _json({"redis": source.name, "events": [m.to_dict() for m in moments]})
        if path == "/search":
            if not request.query.get("q"):
                raise NotFound("a search needs q=TEXT")
            return _json(self._searched(source, request).to_dict())
        if path.startswith("/queues/"):
            system, state = _system_and_state(request)
            queue = _queue_name(request, path.removeprefix("/queues/"))
            page_request = PageRequest(queue, state, _offset(request), _limit(request))
            return _json(self._read_page(source, system, page_request).to_dict())
        if path.startswith("/jobs/"):
            job_id = unquote(path.removeprefix("/jobs/"))
            job = self._run(source, lambda watch: watch.find(job_id)).job
            if job is None:
                raise NotFound(f"no job {job_id!r} in {source.name}")
            return _json(job.to_dict())
        raise NotFound(f"no API {path}")

    def _act(self, request: Request, name: str) -> Response:
        if not self.actions:
            return self._page(
                "done.html",
                request,
                {"message": "actions are off: qwatch serve --web-actions turns them on"},
                status=403,
            )
        source = self._source(request)
        refusal = self.guard.refusal(name, request.form, request.origin, request.host)
        if refusal is not None:
            return self._page("done.html", request, {"message": refusal}, status=403)
        action = ACTIONS[name]
        question = action.question.format(**{key: request.form[key] for key in action.fields})
        question = f"{source.name}: {question}"
        back = _local(request.form.get("back", "/"))
        if request.form.get("confirmed") != "yes":
            form = {**request.form, "back": back}
            context = {"question": question, "name": name, "form": form, "back": back}
            return self._page("confirm.html", request, context)
        try:
            message = self._run(source, lambda watch: action.run(watch, request.form))
        except QwatchError as exc:  # the job was requeued meanwhile, or is gone
            context = {"message": f"{source.name}: {exc}", "back": back}
            return self._page("done.html", request, context, status=409)
        log.warning("action %s on %s from %s: %s", name, source.name, request.client, message)
        return self._page(
            "done.html", request, {"message": f"{source.name}: {message}", "back": back}
        )

    def _page(
        self, template: str, request: Request, context: dict[str, Any], status: int = 200
    ) -> Response:
        page = self.templates.get_template(template)
        body = page.render(
            **context,
            fragment=request.fragment,
            refresh=self.refresh,
            version=__version__,
            names=list(self.sources),
            actions=self.actions,
            token=self.guard.token,
            here=request.path,
            query=request.query,
        )
        return Response(status, "text/html; charset=utf-8", body.encode())


def _local(link: str) -> str:
    """A link back into the dashboard, never to another site or a `javascript:` URL (browsers
    drop tabs and newlines from a link, and read a backslash as a slash)."""
    cleaned = "".join(char for char in link if char > " ").replace("\\", "/")
    parts = urlsplit(cleaned)
    if not cleaned.startswith("/") or cleaned.startswith("//") or parts.scheme or parts.netloc:
        return "/"
    return cleaned


def _queue_name(request: Request, segment: str) -> str:
    """The queue a path names; `.` and `..`, which a browser would resolve away, as `?name=`."""
    return request.query["name"] if not segment and "name" in request.query else unquote(segment)


def _states(system: str) -> tuple[str, ...]:
    return {CELERY: CELERY_STATES, DRAMATIQ: DRAMATIQ_STATES, ARQ: ARQ_STATES}.get(
        system, LISTED_STATES
    )


def _system_and_state(request: Request) -> tuple[str, str]:
    system = request.query.get("system", RQ)
    if system not in SYSTEMS:
        raise NotFound(f"no system {system[:40]!r}: {', '.join(SYSTEMS)}")
    states = _states(system)
    state = request.query.get("state", states[0])
    if state not in states:
        raise NotFound(f"no state {state[:40]!r} for a {system} queue: {', '.join(states)}")
    return system, state


def _count_in(stats: QueueStats | None, state: str) -> int | None:
    """How many jobs the queue has in `state`, as the overview counted them."""
    if stats is None:
        return None
    if stats.celery is not None and state == "reserved":
        return stats.celery.reserved
    if stats.celery is not None and state == "overdue":
        return stats.celery.overdue
    value = getattr(stats, state, None)
    return value if isinstance(value, int) else None


def _offset(request: Request) -> int:
    return _number(request.query.get("offset", "0"), 0, 10**9)


def _limit(request: Request) -> int:
    return _number(request.query.get("limit", str(PAGE_SIZE)), 1, 500)


def _further(progress: SearchProgress) -> dict[str, str] | None:
    """The query of the same search with ten times its budget and time, when it stopped at
    either and the limits leave room."""
    request = progress.request
    budget = min(request.budget * 10, SEARCH_BUDGETS[1])
    seconds = min(int(request.seconds * 10), int(SEARCH_SECONDS[1]))
    if progress.stopped not in ("budget", "time") or budget == request.budget:
        return None
    return {
        "q": request.text,
        "regex": "1" if request.regex else "",
        "limit": str(request.limit),
        "budget": str(budget),
        "seconds": str(seconds),
    }


def _number(text: str, least: int, most: int) -> int:
    if not (text.isascii() and text.isdigit()):
        raise NotFound(f"not a number: {text[:40]!r}")
    value = int(text)
    if not least <= value <= most:
        raise NotFound(f"{value} is not between {least} and {most}")
    return value


def _static(name: str) -> Response:
    if name not in STATIC:
        raise NotFound(f"no file {name!r}")
    body = (resources.files("qwatch.web") / "static" / name).read_bytes()
    headers = {**HEADERS, "Cache-Control": "max-age=3600"}
    return Response(200, STATIC[name], body, headers)


def _history_dict(source: RedisSource, request: Request) -> dict[str, Any]:
    """The history `/api/history` answers: the queue or worker named (`queue=` or `worker=`,
    with `system=` to tell same-named ones apart), else the first `limit=` of each, by
    system and name; `window=hour` (the default) or `day`."""
    window = _window(request)
    past = source.history
    system = request.query.get("system")
    queues, workers = past.counted()
    if "queue" in request.query or "worker" in request.query:
        kind = "queue" if "queue" in request.query else "worker"
        name = request.query[kind]
        read = past.queue if kind == "queue" else past.worker
        found = [m for one in ([system] if system else SYSTEMS) if (m := read(one, name, window))]
        if not found:
            raise NotFound(f"no history of {kind} {name[:80]!r} in {source.name}")
        shown = {"queues": [], "workers": [], f"{kind}s": found}
    else:
        limit = _number(request.query.get("limit", "100"), 1, HISTORY_LIMIT)
        shown = {"queues": past.queues(window, limit), "workers": past.workers(window, limit)}
    return {
        "redis": source.name,
        "window": window,
        "queues_kept": queues,
        "workers_kept": workers,
        "queues": [m.to_dict() for m in shown["queues"]],
        "workers": [m.to_dict() for m in shown["workers"]],
    }


def _window(request: Request) -> str:
    """The history's window a page or `/api/history` asks for: `hour` unless `window=day`."""
    window = request.query.get("window", HOUR)
    if window not in history.WINDOWS:
        raise NotFound(f"no window {window[:40]!r}: {', '.join(history.WINDOWS)}")
    return window


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(status, "application/json", body)


def _overview_dict(seen: Seen) -> dict[str, Any]:
    """A Redis's overview as `snapshot --json` has it, with the newest failures beside."""
    overview = seen.overview
    return {
        "redis": seen.name,
        "up": not seen.reason,
        "reason": seen.reason or None,
        "age_seconds": seen.age,
        "snapshot": overview.snapshot.to_dict() if overview else None,
        "failed": [asdict(row) for row in overview.failed] if overview else [],
    }
