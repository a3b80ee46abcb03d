"""The one bounded SCAN of the keyspace, for sources that discover their queues by key name.

A discovery is run rarely (once a minute), never per sample: it costs one
call per `SCAN_COUNT` keys of the whole keyspace, at most `SCAN_ROUNDS` calls.
"""

from __future__ import annotations

import logging
from typing import Any

import redis

from qwatch.wire import batch
from qwatch.wire.replies import as_list, check_allowed

SCAN_COUNT = 1000
SCAN_ROUNDS = 1000
"""At most a million keys looked at by one discovery."""
_GLOB_SPECIAL = "*?[]\\"

log = logging.getLogger("qwatch")


def glob_escaped(text: str) -> str:
    """`text` matched literally by a SCAN MATCH or PSUBSCRIBE pattern: a prefix may hold `*`."""
    return "".join(f"\\{char}" if char in _GLOB_SPECIAL else char for char in text)


def scanned(client: redis.Redis, pattern: str) -> list[Any]:
    """The keys matching `pattern` as Redis gave them, each once, within `SCAN_ROUNDS` calls."""
    keys: list[Any] = []
    cursor: Any = 0
    for _ in range(SCAN_ROUNDS):
        (reply,) = batch.run(client, [("SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT)])
        check_allowed(reply)
        found = as_list(reply)
        if len(found) != 2:
            break
        cursor, page = found
        keys += as_list(page)
        if cursor in (b"0", 0):
            break
    else:
        log.warning("key discovery stopped after %d SCAN calls", SCAN_ROUNDS)
    return list(dict.fromkeys(keys))
