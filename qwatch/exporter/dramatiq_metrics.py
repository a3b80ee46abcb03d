"""Series only Dramatiq has: what its broker processes hold beyond the shared worker series.

They need no `system` label: their names say Dramatiq. They are there only
while qwatch watches Dramatiq.
"""

from __future__ import annotations

from qwatch.exporter.metrics import Reading, Series
from qwatch.model import Snapshot

SILENT_HELD = Series(
    "qwatch_dramatiq_silent_broker_messages",
    "gauge",
    "Messages fetched and not acked by Dramatiq broker processes silent past the heartbeat"
    " timeout: they wait until a live worker's fetch happens to requeue them",
    ("redis",),
)
UNKNOWN_BROKERS = Series(
    "qwatch_dramatiq_brokers_unknown",
    "gauge",
    "Live Dramatiq broker processes seen fetching nothing: producers (which heartbeat too)"
    " or idle workers",
    ("redis",),
)
ALL = (SILENT_HELD, UNKNOWN_BROKERS)


def reading(redis: str, snapshot: Snapshot) -> Reading:
    watch = snapshot.dramatiq
    if watch is None:
        return []
    return [
        (SILENT_HELD, [((redis,), float(watch.silent_held))]),
        (UNKNOWN_BROKERS, [((redis,), float(watch.unknown_brokers))]),
    ]
