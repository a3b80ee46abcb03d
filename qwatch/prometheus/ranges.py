"""One `query_range` of Prometheus' HTTP API, as a face's line of the past: a value a step,
NaN where Prometheus has none.

Prometheus is trusted no more than Redis: the answer is read up to
`ANSWER_BYTES`, any shape but the one asked for is a `PrometheusError` of
one line, and a value that is not a finite number is a gap.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from qwatch.errors import QwatchError

ANSWER_BYTES = 4 << 20
"""The most of an answer read: one summed series of a few hundred points is a few KiB."""
TIMEOUT_SECONDS = 2.0
"""How long a query may take: it runs in top's poll thread, between two polls."""
POINTS = 240
"""Points of a window: as many as the history keeps of its hour, and as a line can show."""
MATCHERS = re.compile(r'\s*[A-Za-z_][A-Za-z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*')
"""One label matcher, `redis="main"`; `--prometheus-match` is a comma-separated list of them."""


class PrometheusError(QwatchError):
    """Prometheus did not answer, or not as asked: one line for a person."""


@dataclass(frozen=True, slots=True)
class Window:
    """`span` seconds ending at `end`, `POINTS` steps."""

    end: float
    span: float

    @property
    def step(self) -> float:
        return self.span / POINTS

    @property
    def start(self) -> float:
        return self.end - self.span + self.step


def check_matchers(text: str) -> str:
    """`text` if it is a comma-separated list of label matchers, else ValueError saying why."""
    if text and not all(MATCHERS.fullmatch(part) for part in _split(text)):
        raise ValueError(f'{text[:80]!r} is not label matchers such as redis="main",job="qwatch"')
    return text


def _split(text: str) -> list[str]:
    """The matchers of `text`, split at the commas outside quotes."""
    return re.findall(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+', text)


def line(url: str, query: str, window: Window) -> list[float]:
    """The single series `query` gives over `window`, a value a step, oldest first; all NaN
    when it gives none (nothing recorded then). More than one series is an error: the
    queries sum what they ask for."""
    params = urllib.parse.urlencode(
        {"query": query, "start": window.start, "end": window.end, "step": window.step}
    )
    result = _data(_get(f"{url.rstrip('/')}/api/v1/query_range?{params}"))
    values = [math.nan] * POINTS
    if not result:
        return values
    if len(result) > 1:
        raise PrometheusError(f"Prometheus gave {len(result)} series for one sum")
    for pair in _values(result[0]):
        at, value = pair
        slot = round((at - window.start) / window.step)
        if 0 <= slot < POINTS:
            values[slot] = value
    return values


def _get(address: str) -> Any:
    try:
        with urllib.request.urlopen(address, timeout=TIMEOUT_SECONDS) as answer:
            body = answer.read(ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise PrometheusError(f"Prometheus answered {exc.code} {exc.reason}") from exc
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PrometheusError(f"Prometheus unreachable: {reason}") from exc
    if len(body) > ANSWER_BYTES:
        raise PrometheusError(f"Prometheus' answer is over {ANSWER_BYTES >> 20} MiB")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise PrometheusError("Prometheus' answer is not JSON") from exc


def _data(answer: Any) -> list[Any]:
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        raise PrometheusError(f"Prometheus refused the query: {str(error)[:200]}")
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        raise PrometheusError("Prometheus' answer is not a range of values")
    result = data.get("result")
    if not isinstance(result, list):
        raise PrometheusError("Prometheus' answer holds no result")
    return result


def _values(series: Any) -> list[tuple[float, float]]:
    """A series' `[time, "value"]` pairs that are numbers; the rest are gaps."""
    pairs = series.get("values") if isinstance(series, dict) else None
    kept = []
    for pair in pairs if isinstance(pairs, list) else ():
        try:
            at, value = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        if math.isfinite(at) and math.isfinite(value):
            kept.append((at, value))
    return kept
