"""The `qwatch` command: argument parsing, and errors shown as one line with exit status 2."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, NoReturn

import redis
from rich.console import Console, RenderableType

from qwatch import __version__, job_states
from qwatch.cli.collection import collect_seldom
from qwatch.cli.report import (
    WIDE,
    celery_jobs_report,
    failed_report,
    job_report,
    jobs_report,
    search_report,
    snapshot_report,
)
from qwatch.errors import QwatchError, TargetError, translated_errors
from qwatch.exporter import DEFAULT_PORT
from qwatch.exporter.totals import DEFAULT_BUCKETS, DEFAULT_LABEL_LIMIT
from qwatch.history.recorder import PACE as HISTORY_PACE
from qwatch.history.recorder import PACES as HISTORY_PACES
from qwatch.limits import PAGE_LIMIT, SCAN_WINDOW, SEARCH_BUDGETS, SEARCH_SECONDS
from qwatch.model import (
    ARQ,
    CELERY,
    DRAMATIQ,
    RQ,
    JobDetail,
    JobPage,
    PageRequest,
    SearchRequest,
)
from qwatch.prometheus.longer import SPANS, LongerPast
from qwatch.prometheus.ranges import check_matchers
from qwatch.text.formatting import plural
from qwatch.text.listing import logs_note, logs_text, search_summary
from qwatch.text.printable import printable
from qwatch.watch import (
    ARQ_HEALTH_CHECK_INTERVAL,
    ARQ_QUEUE,
    ARQ_STATES,
    AUTO,
    CELERY_SEARCH_LIMIT,
    CELERY_STATES,
    CHOICES,
    DRAMATIQ_NAMESPACE,
    DRAMATIQ_STATES,
    LISTED_STATES,
    RQ_PREFIX,
    RQ_PREFIX_VARIABLE,
    SEARCHED_STATES,
    TRACK_INTERVAL,
    TRACK_INTERVALS,
    Watch,
    checked_rq_prefix,
)
from qwatch.web import REFRESH as WEB_REFRESH
from qwatch.web import REFRESHES as WEB_REFRESHES
from qwatch.wire.connection import (
    Target,
    TLSFiles,
    connect,
    parse_sentinels,
    read_password_file,
    resolve_url,
)

EXIT_USAGE = 2
MIN_INTERVAL = 0.1
"""Shortest refresh or timeout: anything faster is a busy loop on Redis."""
MAX_TIMEOUT = 300.0
ONE_HOUR = 3600.0
CELERY_LISTEN = 3.0
"""Seconds a one-shot command listens to Celery's events: one heartbeat (2 s) and a margin."""
ONE_DAY = 86400.0
MAX_TTL = 100 * 365 * ONE_DAY
MAX_LIMIT = 10_000
MAX_OFFSET = 1_000_000_000

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other qwatch error, with where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one qwatch command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    command: Command = args.command
    try:
        return command(args)
    except QwatchError as exc:
        print(f"qwatch: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say, and nowhere to say it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand and its options."""
    parser = _Parser(
        prog="qwatch",
        description="Monitor RQ and Celery task queues on Redis."
        " Reads only; changes nothing unless asked.",
        epilog="Redis: --url, else $QWATCH_REDIS_URL, else $REDIS_URL, else"
        " redis://localhost:6379/0. Exit status: 0 done, 1 no such job, 2 bad input or"
        " Redis unreachable or refusing, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"qwatch {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    connection = _connection_options()
    systems = _system_options()

    snapshot = commands.add_parser(
        "snapshot",
        parents=[connection, systems],
        help="print queues, workers and problems once (or every --watch seconds)",
        description="Print every queue's job counts, every worker, and abandoned jobs.",
    )
    snapshot.add_argument("--json", action="store_true", help="print one JSON object instead")
    snapshot.add_argument(
        "--watch",
        type=_seconds(MIN_INTERVAL, ONE_DAY),
        metavar="SECONDS",
        help="refresh every SECONDS until Ctrl-C",
    )
    _celery_listen_option(snapshot)
    snapshot.set_defaults(command=run_snapshot)

    job = commands.add_parser(
        "job",
        parents=[connection, systems],
        help="print one job: call, times, traceback",
        description="Print one job, its arguments decoded without unpickling, and its traceback.",
    )
    job.add_argument(
        "job_id", metavar="ID", type=_not_empty("a job id"), help="an RQ job id or a Celery task id"
    )
    shown = job.add_mutually_exclusive_group()
    shown.add_argument(
        "--logs",
        action="store_true",
        help="print only the lines the job logged (kept by qwatch.rq.Worker); exit status 1"
        " when none are kept",
    )
    shown.add_argument("--json", action="store_true", help="print one JSON object instead")
    job.set_defaults(command=run_job)

    failed = commands.add_parser(
        "failed",
        parents=[connection, systems],
        help="list failed jobs, newest first",
        description="List failed jobs newest first, one line each with the exception.",
    )
    failed.add_argument(
        "--queue",
        metavar="Q",
        type=_not_empty("a queue name"),
        help="only this queue (default: all)",
    )
    failed.add_argument(
        "--limit",
        type=_count(MAX_LIMIT),
        default=20,
        metavar="N",
        help=f"at most N jobs (default 20, at most {MAX_LIMIT})",
    )
    _celery_listen_option(failed)
    failed.set_defaults(command=run_failed)
    _jobs_command(commands, connection, systems)
    _search_command(commands, connection, systems)

    top = commands.add_parser(
        "top",
        parents=[connection, systems],
        help="the full-screen monitor: queues, workers, failed jobs, functions",
        description="Watch queues, workers and failed jobs live; inspect, requeue and delete.",
    )
    top.add_argument(
        "--interval",
        type=_seconds(MIN_INTERVAL, ONE_HOUR),
        default=2.0,
        metavar="SECONDS",
        help="seconds between refreshes (default 2)",
    )
    top.add_argument(
        "--read-only", action="store_true", help="turn off every action that changes Redis"
    )
    _track_interval_option(top, "refreshes")
    _prometheus_options(top)
    top.set_defaults(command=run_top)

    serve = commands.add_parser(
        "serve",
        parents=[_connection_options(several=True), systems],
        help="run the Prometheus exporter and the web dashboard",
        description="Serve Prometheus metrics of one or more Redis at /metrics, and a web"
        " dashboard of their queues, workers and failures at /. Reads only, unless"
        " --web-actions lets the dashboard requeue, delete and empty.",
    )
    _serve_options(serve)
    serve.set_defaults(command=run_serve)
    return parser


def _jobs_command(
    commands: Any, connection: argparse.ArgumentParser, systems: argparse.ArgumentParser
) -> None:
    """`qwatch jobs`: the job browser's list on the command line, and a Celery queue's."""
    jobs = commands.add_parser(
        "jobs",
        parents=[connection, systems],
        help="list one queue's jobs in one state, a page at a time",
        description="List an RQ queue's queued, started, scheduled, deferred, ready, finished,"
        " failed, canceled or rate-limited jobs, or a Celery queue's queued, scheduled,"
        " reserved or overdue messages, a page at a time: each page reads only its own jobs.",
    )
    jobs.add_argument(
        "queue", metavar="QUEUE", type=_not_empty("a queue name"), help="the queue's name"
    )
    jobs.add_argument(
        "--state",
        choices=tuple(dict.fromkeys((*LISTED_STATES, *CELERY_STATES))),
        default=job_states.QUEUED,
        help="which jobs (default queued); rate_limited: those RQ 3.0's rate limits hold"
        " back; reserved and overdue are a Celery queue's",
    )
    jobs.add_argument(
        "--limit",
        type=_count(PAGE_LIMIT),
        default=20,
        metavar="N",
        help=f"at most N jobs (default 20, at most {PAGE_LIMIT})",
    )
    jobs.add_argument(
        "--offset",
        type=_count(MAX_OFFSET, low=0),
        default=0,
        metavar="N",
        help="start at the N-th entry, counted from 0 (each page prints the next offset)",
    )
    jobs.add_argument(
        "--function", default="", metavar="NAME", help="only jobs whose function contains NAME"
    )
    jobs.add_argument(
        "--match",
        default="",
        metavar="TEXT",
        help=f"only jobs whose id, call, worker, result or exception contains TEXT;"
        f" a filter searches {SCAN_WINDOW} entries per page",
    )
    jobs.add_argument("--json", action="store_true", help="print one JSON object instead")
    jobs.set_defaults(command=run_jobs)


def _search_command(
    commands: Any, connection: argparse.ArgumentParser, systems: argparse.ArgumentParser
) -> None:
    """`qwatch search`: the jobs that hold a text, in every queue and state."""
    search = commands.add_parser(
        "search",
        parents=[connection, systems],
        help="find jobs by id, function, arguments, result or error, in every queue and state",
        description="Find the jobs whose id, function, arguments (as RQ wrote the call), worker,"
        " result, exception or traceback hold TEXT, in every state of every RQ queue, then"
        " Dramatiq's dead letters and its fetched, waiting and delayed messages, then arq's"
        " failed, running, waiting, deferred and finished jobs, then Celery's failures heard"
        " and its waiting and reserved messages; newest first. A search reads in batches"
        " within a budget of entries and seconds, and says how far it got when it stops"
        " before the end.",
    )
    search.add_argument("text", metavar="TEXT", type=_not_empty("a text to find"))
    search.add_argument(
        "--regex", action="store_true", help="TEXT is a regular expression (case ignored)"
    )
    search.add_argument(
        "--queue", action="append", default=[], metavar="Q", help="only this queue; repeatable"
    )
    search.add_argument(
        "--state",
        action="append",
        default=[],
        choices=SEARCHED_STATES,
        help="only this state; repeatable (default every state)",
    )
    search.add_argument(
        "--limit",
        type=_count(PAGE_LIMIT),
        default=20,
        metavar="N",
        help=f"stop after N jobs found (default 20, at most {PAGE_LIMIT})",
    )
    search.add_argument(
        "--budget",
        type=_count(SEARCH_BUDGETS[1], low=SEARCH_BUDGETS[0]),
        default=SearchRequest("").budget,
        metavar="N",
        help=f"examine at most N entries of lists and registries (default"
        f" {SearchRequest('').budget:,}, at most {SEARCH_BUDGETS[1]:,})",
    )
    search.add_argument(
        "--seconds",
        type=_seconds(*SEARCH_SECONDS),
        default=SearchRequest("").seconds,
        metavar="S",
        help=f"search for at most S seconds (default {SearchRequest('').seconds:g},"
        f" {SEARCH_SECONDS[0]:g} to {SEARCH_SECONDS[1]:g})",
    )
    search.add_argument("--json", action="store_true", help="print one JSON object instead")
    search.set_defaults(command=run_search)


def _serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--name",
        action="append",
        default=[],
        help="the `redis` label of each --url, in order (default: host:port/db)",
    )
    serve.add_argument(
        "--listen",
        type=_listen,
        default=f":{DEFAULT_PORT}",
        metavar="HOST:PORT",
        help=f"address to serve on (default :{DEFAULT_PORT}, every interface)",
    )
    serve.add_argument(
        "--web-config",
        metavar="FILE",
        type=_not_empty("a web config path"),
        help="TLS and basic auth, in the Prometheus exporter-toolkit format",
    )
    serve.add_argument(
        "--web-refresh",
        type=_seconds(*WEB_REFRESHES),
        default=WEB_REFRESH,
        metavar="SECONDS",
        help="how often the web dashboard's pages refresh themselves; a page reads Redis again"
        f" when its data is older (default {WEB_REFRESH:g}, {WEB_REFRESHES[0]:g} to"
        f" {WEB_REFRESHES[1]:g})",
    )
    serve.add_argument(
        "--history-interval",
        type=_seconds(*HISTORY_PACES),
        default=HISTORY_PACE,
        metavar="SECONDS",
        help="seconds between two samples of the history /api/history and /api/events answer"
        f" from, taken whether or not anyone scrapes (default {HISTORY_PACE:g},"
        f" {HISTORY_PACES[0]:g} to {HISTORY_PACES[1]:g})",
    )
    serve.add_argument(
        "--web-host",
        action="append",
        default=[],
        type=_not_empty("a host name"),
        metavar="NAME",
        help="a host name the dashboard is reached by (its actions are refused at any other"
        " name but an IP address, localhost and this machine's names); repeatable",
    )
    writes = serve.add_mutually_exclusive_group()
    writes.add_argument(
        "--web-actions",
        action="store_true",
        help="let the web dashboard requeue, delete and empty (each asks for confirmation"
        " and is logged); off by default: the dashboard only reads",
    )
    writes.add_argument(
        "--read-only",
        action="store_true",
        help="the dashboard only reads (the default; refuses --web-actions)",
    )
    sentinel = serve.add_argument_group("Redis Sentinel")
    sentinel.add_argument(
        "--sentinel",
        metavar="HOST:PORT,...",
        type=_not_empty("a Sentinel address"),
        help="Sentinels to ask for the master",
    )
    sentinel.add_argument(
        "--sentinel-master",
        metavar="NAME",
        type=_not_empty("a master name"),
        help="the master's name",
    )
    serve.add_argument(
        "--label-limit",
        type=_count(MAX_LIMIT),
        default=DEFAULT_LABEL_LIMIT,
        metavar="N",
        help=f"distinct function and exception labels per queue, the rest as `other`"
        f" (default {DEFAULT_LABEL_LIMIT})",
    )
    serve.add_argument(
        "--buckets",
        type=_buckets,
        default=DEFAULT_BUCKETS,
        metavar="S,S,...",
        help="upper bounds in seconds of the run and wait time histograms"
        f" (default {','.join(map(str, DEFAULT_BUCKETS))})",
    )
    serve.add_argument(
        "--histograms",
        type=histogram_queues,
        default="all",
        metavar="all|none|QUEUE,...",
        help="queues whose run and wait times get histograms, some 30 series per queue"
        " (default all); `none` or a few named queues bound the series of large fleets",
    )
    serve.add_argument(
        "--ttl",
        type=_seconds(1, MAX_TTL),
        action="append",
        default=[],
        metavar="SECONDS",
        help="a result_ttl or failure_ttl your jobs use besides RQ's defaults (500 s, 1 year),"
        " so no discovery is needed to count them; repeatable",
    )
    _track_interval_option(serve, "scrapes")
    serve.add_argument(
        "--state-file",
        metavar="PATH",
        type=_not_empty("a state file path"),
        help="keep here, per Redis, how far the exact-mode stream was read and the job counters"
        " counted up to there; after a restart both go on from it, so jobs that ended while"
        " qwatch was down are counted once and no counter goes down (default: none, counters"
        " start at 0 and the stream is read from its end)",
    )


def _prometheus_options(top: argparse.ArgumentParser) -> None:
    """Where top's lines of the past come from when they are to span more than its hour."""
    top.add_argument(
        "--prometheus",
        type=_http_url,
        metavar="URL",
        help="a Prometheus that scrapes qwatch serve with the bundled rules: the lines of the"
        " past then span --prometheus-window, from its recorded series (default: top's own"
        " last hour)",
    )
    top.add_argument(
        "--prometheus-window",
        type=_span,
        default=86400.0,
        metavar="SPAN",
        help="how far back the lines go with --prometheus, such as 6h, 24h or 7d (default 24h;"
        f" {_SPANS_TEXT})",
    )
    top.add_argument(
        "--prometheus-match",
        type=_matchers,
        default="",
        metavar="MATCHERS",
        help='label matchers for the series of this Redis, such as redis="main",job="qwatch"'
        " (default: every series Prometheus has, summed)",
    )


def _http_url(text: str) -> str:
    """An `http://` or `https://` address with a host."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http:// or https:// URL: {text[:80]!r}")
    return text.strip()


_SPAN_UNITS = {"m": 60, "h": 3600, "d": 86400}


def _span(text: str) -> float:
    """`6h`, `24h`, `7d`, `90m`: seconds, within `longer.SPANS`."""
    number, unit = text.strip()[:-1], text.strip()[-1:]
    if unit not in _SPAN_UNITS or not number.isdigit():
        raise argparse.ArgumentTypeError(f"not a span such as 6h, 24h or 7d: {text[:40]!r}")
    seconds = float(int(number) * _SPAN_UNITS[unit])
    low, high = SPANS
    if not low <= seconds <= high:
        raise argparse.ArgumentTypeError(f"must be from {_SPANS_TEXT}: {text[:40]!r}")
    return seconds


def _span_text(seconds: float) -> str:
    """A span as `_span` reads it, in its largest whole unit."""
    unit, size = next((u, size) for u, size in reversed(_SPAN_UNITS.items()) if seconds % size == 0)
    return f"{int(seconds // size)}{unit}"


_SPANS_TEXT = " to ".join(map(_span_text, SPANS))


def _matchers(text: str) -> str:
    try:
        return check_matchers(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _track_interval_option(command: argparse.ArgumentParser, apart_from: str) -> None:
    """`--track-interval`, for the two commands that follow completions in the background."""
    command.add_argument(
        "--track-interval",
        type=_seconds(*TRACK_INTERVALS),
        default=TRACK_INTERVAL,
        metavar="SECONDS",
        help="seconds between two reads of finished and failed jobs, independent of"
        f" {apart_from}; shorter than your shortest result_ttl (default {TRACK_INTERVAL:g},"
        f" {TRACK_INTERVALS[0]:g} to {TRACK_INTERVALS[1]:g})",
    )


def _celery_listen_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--celery-listen",
        type=_seconds(0.0, 60.0),
        default=CELERY_LISTEN,
        metavar="SECONDS",
        help="Celery's workers and tasks are seen only through events: listen this long"
        f" first (default {CELERY_LISTEN:g}; workers send a heartbeat every 2 s; 0 reads the"
        " queues alone)",
    )


def _connection_options(several: bool = False) -> _Parser:
    options = _Parser(add_help=False)
    group = options.add_argument_group("connection")
    group.add_argument(
        "--url",
        type=_not_empty("a Redis URL"),
        action="append" if several else _Once,
        help="redis://, rediss:// or unix:// URL (default: $QWATCH_REDIS_URL, else $REDIS_URL,"
        " else redis://localhost:6379/0)" + ("; repeat for several Redis" if several else ""),
    )
    group.add_argument(
        "--password-file",
        metavar="FILE",
        type=_not_empty("a password file path"),
        help="read the Redis password from FILE's first line",
    )
    group.add_argument(
        "--timeout",
        type=_seconds(MIN_INTERVAL, MAX_TIMEOUT),
        default=5.0,
        metavar="SECONDS",
        help="give up on Redis after SECONDS (default 5)",
    )
    tls = options.add_argument_group("TLS to Redis (a rediss:// URL)")
    tls.add_argument(
        "--tls-ca",
        metavar="FILE",
        type=_not_empty("a CA file path"),
        help="CA certificates that sign the Redis server's certificate",
    )
    tls.add_argument(
        "--tls-cert",
        metavar="FILE",
        type=_not_empty("a certificate path"),
        help="a client certificate to present",
    )
    tls.add_argument(
        "--tls-key",
        metavar="FILE",
        type=_not_empty("a key path"),
        help="the client certificate's key",
    )
    return options


def _system_options() -> _Parser:
    options = _Parser(add_help=False)
    group = options.add_argument_group("systems: RQ, Celery, Dramatiq, arq or several on one Redis")
    group.add_argument(
        "--system",
        choices=CHOICES,
        default=AUTO,
        help="what to watch; auto looks for RQ's, Celery's, Dramatiq's and arq's keys and"
        " watches what it finds (default auto)",
    )
    group.add_argument(
        "--rq-prefix",
        metavar="PREFIX",
        action="append",
        default=[],
        help=f"the key prefix RQ runs under, as RQ 3.0's {RQ_PREFIX_VARIABLE} (default: that"
        f" variable, else {RQ_PREFIX}); serve takes one, or one per --url",
    )
    group.add_argument(
        "--celery-queue",
        metavar="NAME",
        action="append",
        default=[],
        type=_not_empty("a Celery queue name"),
        help="a Celery queue to watch besides those kombu's bindings name (repeat for several);"
        " needed for queues declared with x-expires, whose bindings may vanish",
    )
    group.add_argument(
        "--celery-sep",
        metavar="TEXT",
        type=_not_empty("a separator"),
        help="broker_transport_options' sep, if your Celery sets it (default kombu's \\x06\\x16)",
    )
    group.add_argument(
        "--celery-priority-steps",
        metavar="N,N,...",
        type=_steps,
        help="broker_transport_options' priority_steps, if set (default 0,3,6,9)",
    )
    group.add_argument(
        "--celery-visibility-timeout",
        type=_seconds(1.0, 100 * ONE_DAY),
        metavar="SECONDS",
        help="broker_transport_options' visibility_timeout, if set (default 3600): reserved"
        " messages older than this are overdue",
    )
    group.add_argument(
        "--celery-prefix",
        metavar="PREFIX",
        default="",
        help="broker_transport_options' global_keyprefix, if set",
    )
    group.add_argument(
        "--celery-result-prefix",
        metavar="PREFIX",
        default="",
        help="result_backend_transport_options' global_keyprefix, if set",
    )
    group.add_argument(
        "--dramatiq-namespace",
        metavar="NAME",
        default=DRAMATIQ_NAMESPACE,
        type=_not_empty("a Dramatiq namespace"),
        help=f"the RedisBroker's namespace= (default {DRAMATIQ_NAMESPACE})",
    )
    group.add_argument(
        "--arq-queue",
        metavar="NAME",
        action="append",
        default=[],
        type=_not_empty("an arq queue name"),
        help=f"an arq queue_name to watch besides {ARQ_QUEUE} and those a worker's health check"
        " names (repeat for several)",
    )
    group.add_argument(
        "--arq-health-check-interval",
        type=_seconds(1.0, 100 * ONE_DAY),
        metavar="SECONDS",
        default=ARQ_HEALTH_CHECK_INTERVAL,
        help="your arq workers' health_check_interval, which says how old a health check is"
        f" (default arq's, {ARQ_HEALTH_CHECK_INTERVAL:.0f})",
    )
    return options


def watch_from_args(
    args: argparse.Namespace, client: redis.Redis, listen: bool = True, rq_prefix: str = ""
) -> Watch:
    """The systems the options ask to watch on this client's Redis; `rq_prefix`, when
    given, is this Redis's own among several (`serve`)."""
    given: dict[str, Any] = {
        "prefix": args.celery_prefix,
        "result_prefix": args.celery_result_prefix,
        "queues": tuple(args.celery_queue),
    }
    for option, name in (
        ("celery_sep", "sep"),
        ("celery_priority_steps", "priority_steps"),
        ("celery_visibility_timeout", "visibility_timeout"),
    ):
        if getattr(args, option) is not None:
            given[name] = getattr(args, option)
    prefix = rq_prefix or rq_prefixes(args.rq_prefix, 1)[0]
    try:
        return Watch.configured(
            client,
            args.system,
            rq_prefix=prefix,
            celery=given,
            dramatiq_namespace=args.dramatiq_namespace,
            arq_queues=tuple(args.arq_queue),
            arq_health_check_interval=args.arq_health_check_interval,
            listen=listen,
        )
    except ValueError as exc:
        raise TargetError(str(exc)) from None


def rq_prefixes(given: list[str], count: int) -> list[str]:
    """RQ's key prefix for each of `count` Redis: one for all, or one each in order;
    without any, `RQ_KEY_PREFIX` as RQ reads it. Refused in one line as RQ refuses it."""
    try:
        prefixes = [checked_rq_prefix(p) for p in given] or [checked_rq_prefix(None)]
    except ValueError as exc:
        raise TargetError(str(exc)) from None
    if len(prefixes) == 1:
        return prefixes * count
    if len(prefixes) != count:
        where = "one per --url" if count > 1 else "one"
        raise TargetError(f"{len(prefixes)} --rq-prefix for {count} Redis: give {where}")
    return prefixes


def tls_from_args(args: argparse.Namespace) -> TLSFiles:
    """The `--tls-*` files given, if any."""
    return TLSFiles(ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key)


def target_from_args(args: argparse.Namespace) -> Target:
    """The Redis target the connection options name."""
    password = read_password_file(args.password_file) if args.password_file else None
    return Target(
        url=resolve_url(args.url),
        password=password,
        timeout=args.timeout,
        tls=tls_from_args(args),
    )


def run_snapshot(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    client = connect(target)
    console = _console()
    watch = watch_from_args(args, client, listen=args.celery_listen > 0)
    with translated_errors(target):
        watch.listen_for(args.celery_listen)
    while True:
        with translated_errors(target):
            snapshot = watch.read()
        if args.json:
            print(json.dumps(snapshot.to_dict()), flush=True)
        else:
            if args.watch:
                console.clear()
            _print(console, snapshot_report(snapshot, target.display, console.width))
        if not args.watch:
            return 0
        time.sleep(args.watch)


def run_job(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    client = connect(target)
    watch = watch_from_args(args, client, listen=False)
    with translated_errors(target):
        systems = watch.systems()
        job, unsearched = watch.find(args.job_id)
    if job is None:
        where = f"{printable(args.job_id)} in {target.display}"
        if CELERY in systems:
            where += (
                " (nor a Celery task: no message of it waits or is reserved in"
                f" {plural(len(watch.celery_queues), 'queue')}, and no result is stored: Celery"
                " stores one only with a result backend, until result_expires"
            )
            if unsearched:
                where += (
                    f"; {unsearched} waiting messages past the next {CELERY_SEARCH_LIMIT} not read"
                )
            where += ")"
        print(f"qwatch: no job {where}", file=sys.stderr)
        return 1
    if args.logs:
        return _print_logs(job)
    if args.json:
        print(json.dumps(job.to_dict()))
        return 0
    console = _console()
    _print(console, job_report(job))
    return 0


def _print_logs(job: JobDetail) -> int:
    """`qwatch job ID --logs`: the lines alone, for a pipe; 1 and why when none are kept."""
    note = logs_note(job)
    if note:
        print(f"qwatch: job {printable(job.id)}: {note}", file=sys.stderr)
        return 0 if job.logs == () else 1
    print(logs_text(job), flush=True)
    return 0


def run_failed(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    client = connect(target)
    watch = watch_from_args(args, client, listen=args.celery_listen > 0)
    try:
        with translated_errors(target):
            systems = watch.systems()
            known = watch.rq_queue_names()
            if args.queue and CELERY not in systems and args.queue not in known:
                raise TargetError(f"no queue {args.queue!r} in {target.display}")
            watch.listen_for(args.celery_listen)
            rows = watch.failed(args.limit, args.queue)[: args.limit]
    finally:
        watch.close()
    if not rows:
        where = f"queue {args.queue}" if args.queue else target.display
        print(f"no failed jobs in {where}")
    else:
        console = _console()
        _print(console, failed_report(rows, console.width))
    if CELERY in systems:
        print(
            "Celery keeps no list of failures: only those heard during the"
            f" {args.celery_listen:g} s listen are shown (one you know: qwatch job ID)"
        )
    return 0


def run_jobs(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    client = connect(target)
    watch = watch_from_args(args, client, listen=False)
    request = PageRequest(
        args.queue, args.state, args.offset, args.limit, args.function, args.match
    )
    with translated_errors(target):
        system = _queue_system(watch, args.queue)
        if system == CELERY:
            return _celery_jobs(watch, request, args.json, target.display)
        if system in PAGED:
            return _paged_jobs(system, watch, request, args.json, target.display)
        celery_too = args.system == AUTO and args.queue in watch.celery_queues
        if args.state not in LISTED_STATES:
            raise TargetError(
                f"{args.state} is a Celery queue's state; RQ's queue {args.queue!r} has"
                f" {', '.join(LISTED_STATES)}"
            )
        page = watch.page(request)
    if not page.queue_known and not page.total:
        raise TargetError(f"no queue {args.queue!r} in {target.display}")
    _show_page(page, jobs_report, args.json, f"no {args.state} jobs in queue {args.queue}")
    if celery_too and not args.json:
        print(f"Celery has a queue {args.queue!r} too: --system celery lists its messages")
    return 0


def _queue_system(watch: Watch, queue: str) -> str:
    """Whose queue `jobs` lists: RQ's when RQ has one of that name, else Dramatiq's or
    Celery's when it has one (or is the only system asked for), else RQ's, which says there
    is none."""
    systems = watch.systems()
    if len(systems) == 1:
        return systems[0]
    if RQ in systems and queue in watch.rq_queue_names():
        return RQ
    if DRAMATIQ in systems and queue in watch.dramatiq_queues:
        return DRAMATIQ
    if ARQ in systems and queue in watch.arq_queues:
        return ARQ
    if CELERY in systems and queue in watch.celery_queues:
        return CELERY
    return RQ if RQ in systems else systems[0]


class _Paged(NamedTuple):
    """How `jobs` speaks of a system whose queues `Watch` pages alike."""

    name: str
    article: str
    noun: str
    states: tuple[str, ...]
    read: Callable[[Watch, PageRequest], JobPage]
    hint: str = ""


PAGED = {
    DRAMATIQ: _Paged("Dramatiq", "a", "messages", DRAMATIQ_STATES, Watch.dramatiq_page),
    ARQ: _Paged("arq", "an", "jobs", ARQ_STATES, Watch.arq_page, " (name it with --arq-queue)"),
}


def _paged_jobs(system: str, watch: Watch, request: PageRequest, as_json: bool, where: str) -> int:
    """A Dramatiq or arq queue's entries in one of its states, as `run_jobs` pages RQ's jobs."""
    paged = PAGED[system]
    if request.state not in paged.states:
        raise TargetError(
            f"{paged.name} keeps no {request.state} {paged.noun}: {paged.article} {paged.name}"
            f" queue's states are {', '.join(paged.states)}"
        )
    page = paged.read(watch, request)
    if not page.queue_known:
        raise TargetError(f"no {paged.name} queue {request.queue!r} in {where}{paged.hint}")
    empty = f"no {request.state} {paged.noun} in {paged.name} queue {request.queue}"
    return _show_page(page, jobs_report, as_json, empty)


def _celery_jobs(watch: Watch, request: PageRequest, as_json: bool, where: str) -> int:
    """A Celery queue's messages in one of its states, as `run_jobs` pages RQ's jobs."""
    if request.queue not in watch.celery_queues:
        raise TargetError(
            f"no Celery queue {request.queue!r} in {where} (one whose binding expired:"
            " name it with --celery-queue)"
        )
    if request.state not in CELERY_STATES:
        raise TargetError(
            f"Celery keeps no {request.state} tasks per queue: a Celery queue's states are"
            f" {', '.join(CELERY_STATES)} (failures: qwatch failed)"
        )
    page = watch.celery_page(request)
    empty = f"no {request.state} messages in Celery queue {request.queue}"
    return _show_page(page, celery_jobs_report, as_json, empty)


def _show_page(page: Any, report: Callable[[Any, int], Any], as_json: bool, empty: str) -> int:
    """A page of any system's queue: as JSON, as `empty` when the state holds nothing, or as
    its `report`."""
    request = page.request
    if as_json:
        print(json.dumps(page.to_dict()))
    elif not page.jobs and not request.filtered and not request.offset:
        print(empty)
    else:
        console = _console()
        _print(console, report(page, console.width))
    return 0


def run_search(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    try:
        request = SearchRequest(
            args.text,
            regex=args.regex,
            queues=tuple(args.queue),
            states=tuple(args.state),
            limit=args.limit,
            budget=args.budget,
            seconds=args.seconds,
        )
    except re.error as exc:
        raise TargetError(f"not a regular expression: {exc}") from None
    client = connect(target)
    watch = watch_from_args(args, client, listen=False)
    progress = None
    with translated_errors(target):
        for progress in watch.search(request):
            if sys.stderr.isatty() and not args.json:
                print(f"\r{search_summary(progress)}", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty() and not args.json:
        print("\r\033[K", end="", file=sys.stderr)
    assert progress is not None  # a search says at least once where it stands
    if args.json:
        print(json.dumps(progress.to_dict()))
        return 0
    console = _console()
    if progress.hits:
        _print(console, search_report(progress, console.width))
    print(search_summary(progress))
    return 0 if progress.hits else 1


def run_top(args: argparse.Namespace) -> int:
    # Imported here, like serve's modules: Textual and prometheus_client take a
    # noticeable time to import, which the other commands should not pay.
    from qwatch.tui.app import QwatchApp
    from qwatch.tui.feed import Feed

    collect_seldom()
    target = target_from_args(args)
    client = connect(target)
    longer = (
        LongerPast(args.prometheus, args.prometheus_window, args.prometheus_match)
        if args.prometheus
        else None
    )
    feed = Feed(target, client, args.track_interval, watch_from_args(args, client), longer)
    # A first read before the full screen opens: a wrong address or password
    # is one line and exit status 2, as for every other command.
    first = feed.poll(with_functions=False)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise QwatchError("qwatch top needs a terminal; in a pipe, use qwatch snapshot --watch")
    QwatchApp(feed, args.interval, args.read_only, first=first, terminal=sys.stdin.fileno()).run()
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import contextlib
    import logging

    from qwatch.exporter.collector import RedisSource
    from qwatch.exporter.history_file import HistoryFile
    from qwatch.exporter.http.server import make_server, serve_until_stopped
    from qwatch.exporter.http.web_config import WebConfig, load_web_config
    from qwatch.exporter.state import StateFile

    logging.basicConfig(format="qwatch serve: %(message)s", level=logging.WARNING)
    collect_seldom()
    targets = serve_targets(args)
    names = serve_names(args.name, targets)
    web = load_web_config(args.web_config) if args.web_config else WebConfig()
    state = StateFile.open(args.state_file) if args.state_file else None
    kept = HistoryFile.open(args.state_file, names) if args.state_file else None
    clients = [connect(target) for target in targets]
    sources = [
        RedisSource(
            name,
            client,
            args.buckets,
            args.label_limit,
            args.ttl,
            track_interval=args.track_interval,
            histogram_queues=args.histograms,
            state=state,
            watch=watch_from_args(args, client, rq_prefix=prefix),
            history_pace=args.history_interval,
            history=kept.histories[name] if kept is not None else None,
        )
        for name, client, prefix in zip(names, clients, rq_prefixes(args.rq_prefix, len(clients)))
    ]
    server = make_server(
        args.listen,
        sources,
        args.timeout,
        web,
        actions=args.web_actions,
        refresh=args.web_refresh,
        hosts=args.web_host,
    )
    with kept.kept() if kept is not None else contextlib.nullcontext():
        serve_until_stopped(server)  # closes the sources: the history's last write comes after
    return 0


def serve_targets(args: argparse.Namespace) -> list[Target]:
    """Every Redis `qwatch serve` reads: each --url, or the Sentinel master."""
    password = read_password_file(args.password_file) if args.password_file else None
    if args.sentinel or args.sentinel_master:
        if not (args.sentinel and args.sentinel_master):
            raise TargetError("--sentinel and --sentinel-master go together")
        if args.url:
            raise TargetError("give either --url or --sentinel, not both")
        if tls_from_args(args) != TLSFiles():
            raise TargetError("--tls-* options work with --url rediss://..., not with --sentinel")
        return [
            Target(
                url="",
                password=password,
                timeout=args.timeout,
                sentinels=parse_sentinels(args.sentinel),
                sentinel_master=args.sentinel_master,
            )
        ]
    urls = args.url or [resolve_url(None)]
    return [
        Target(url=url, password=password, timeout=args.timeout, tls=tls_from_args(args))
        for url in urls
    ]


def serve_names(names: list[str], targets: list[Target]) -> list[str]:
    """Each Redis's `redis` label: the --name given in order, else host:port/db; all distinct."""
    names = names or [target.name for target in targets]
    if len(names) != len(targets):
        raise TargetError(f"{len(names)} --name for {len(targets)} Redis: give one per --url")
    for name in names:
        if not name.strip():
            raise TargetError("--name cannot be empty")
        if names.count(name) > 1:
            raise TargetError(f"two Redis named {name!r}: give each --url its own --name")
    return names


def histogram_queues(text: str) -> frozenset[str] | None:
    """`--histograms`: None for `all`, no queue for `none`, else the queues named."""
    if text == "all":
        return None
    if text == "none":
        return frozenset()
    names = text.split(",")
    if not all(name.strip() for name in names) or {"all", "none"} & set(names):
        raise argparse.ArgumentTypeError(f"not all, none or QUEUE,QUEUE,...: {text!r}")
    return frozenset(names)


def _buckets(text: str) -> tuple[float, ...]:
    try:
        bounds = tuple(sorted({float(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of seconds: {text!r}") from None
    if not bounds or bounds[0] <= 0 or not math.isfinite(bounds[-1]):
        raise argparse.ArgumentTypeError(
            f"bucket bounds must be positive, finite seconds (+Inf is always there): {text!r}"
        )
    return bounds


def _console() -> Console:
    """As wide as the terminal or $COLUMNS, else wide enough not to cut tables in a pipe."""
    fits = sys.stdout.isatty() or "COLUMNS" in os.environ
    return Console() if fits else Console(width=WIDE)


def _print(console: Console, renderable: RenderableType) -> None:
    """Print; in a pipe, without the spaces that pad each line to the table's width."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    lines = captured.get().splitlines()
    print("\n".join(line.rstrip() for line in lines), flush=True)


def _seconds(low: float, high: float) -> Callable[[str], float]:
    """A parser of seconds between `low` and `high`: no zero, no inf, no busy loop."""

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g} seconds: {text!r}")
        return value

    return seconds


def _listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` (every interface) or `[::1]:PORT`; port 0 takes a free one."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError(f"not HOST:PORT (e.g. :{DEFAULT_PORT}): {text!r}")
    return host.strip("[]"), int(port)


def _count(high: int, low: int = 1) -> Callable[[str], int]:
    """A parser of whole numbers from `low` to `high`."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}: {text!r}")
        return value

    return count


class _Once(argparse.Action):
    """An option given at most once: a second value would silently win over the first."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.dest) is not None:
            parser.error(f"argument {option_string}: given twice; this command reads one Redis")
        setattr(namespace, self.dest, values)


def _steps(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(step) for step in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of whole numbers like 0,3,6,9"
        ) from None


def _not_empty(what: str) -> Callable[[str], str]:
    """A parser of text that is more than blanks: an empty URL, queue, id or path is a slip.

    Often an unset shell variable (`--web-config "$WEB_CONFIG"`), which must not
    quietly mean "not given": no basic auth, no state kept, no password.
    """

    def text(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"{what} cannot be empty")
        return value

    return text
