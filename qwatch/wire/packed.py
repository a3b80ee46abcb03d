"""Commands a reader sends at every sample, packed once per name (kept in `qwatch.wire.memory`).

Packing a command costs a microsecond or two, and at a thousand queues and
workers a sample sends some 6,000 commands that are the same every time but
for the sample's time. Those are packed once per queue or worker name, with
a gap where the time goes, and filled in at each sample by joining bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qwatch.wire.batch import Packed

NOW = object()
"""Stands in a template's command for the argument filled in at each sample."""


@dataclass(frozen=True, slots=True)
class Template:
    """Commands packed once, with gaps where the `NOW` argument goes."""

    parts: tuple[bytes, ...]
    count: int


def fill_all(templates: Sequence[Template], value: str) -> Packed:
    """Every template's commands with `value` in every gap, as one payload to send."""
    gap = _bulk(value)
    return Packed(
        b"".join([gap.join(template.parts) for template in templates]),
        sum([template.count for template in templates]),
    )


def template(*commands: tuple[object, ...]) -> Template:
    """Commands in Redis' wire format, cut where an argument is `NOW`."""
    parts: list[bytes] = []
    current: list[bytes] = []
    for command in commands:
        current.append(b"*%d\r\n" % len(command))
        for argument in command:
            if argument is NOW:
                parts.append(b"".join(current))
                current = []
            else:
                current.append(_bulk(argument))
    parts.append(b"".join(current))
    return Template(tuple(parts), len(commands))


def _bulk(argument: object) -> bytes:
    data = argument if isinstance(argument, bytes) else str(argument).encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)
