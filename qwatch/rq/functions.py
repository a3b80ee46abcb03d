"""Jobs per function across queues (queued, started, failed): the reference's "Jobs Names".

Knowing every queued job's function means reading every job, which a
monitor must not do at every refresh. This reads a bounded sample instead,
spread over the queues, and says so: a count is exact when `sampled` is
False for its queue lists, a lower bound otherwise.
"""

from __future__ import annotations

from collections import Counter

import redis

from qwatch import job_states
from qwatch.model import FunctionCount, FunctionCounts
from qwatch.pickle.decode import function_name
from qwatch.rq import job_fields
from qwatch.rq.keys import DEFAULT_KEYS, RQKeys, job_id_of_execution
from qwatch.wire import batch
from qwatch.wire.batch import Command
from qwatch.wire.replies import as_list, as_strict_text

BUDGET = 5000
"""Jobs read in all, per state, whatever the number of queues."""


def read_function_counts(
    client: redis.Redis,
    queues: list[str],
    budget: int = BUDGET,
    keys: RQKeys = DEFAULT_KEYS,
) -> FunctionCounts:
    """Two round trips: the job ids of each list, then their functions."""
    per_list = max(1, budget // max(1, len(queues)))
    listing: list[Command] = []
    for queue in queues:
        listing += [
            ("LRANGE", keys.queue_key(queue), 0, per_list - 1),
            ("ZRANGE", keys.registry_key(job_states.STARTED, queue), 0, per_list - 1),
            ("ZREVRANGE", keys.registry_key(job_states.FAILED, queue), 0, per_list - 1),
        ]
    replies = batch.run(client, listing)
    sampled = any(len(as_list(reply)) >= per_list for reply in replies)
    members: list[tuple[str, str]] = []
    for index, reply in enumerate(replies):
        state = (job_states.QUEUED, job_states.STARTED, job_states.FAILED)[index % 3]
        for member in map(as_strict_text, as_list(reply)):
            if member:
                job_id = job_id_of_execution(member) if state == job_states.STARTED else member
                members.append((state, job_id))
    datas = batch.run(
        client, [("HGET", keys.job_key(job_id), job_fields.DATA) for _state, job_id in members]
    )
    counts: dict[str, Counter[str]] = {}
    for (state, _job_id), data in zip(members, datas):
        name = function_name(data if isinstance(data, bytes) else None) or "<unknown>"
        counts.setdefault(name, Counter())[state] += 1
    rows = tuple(
        FunctionCount(name, c[job_states.QUEUED], c[job_states.STARTED], c[job_states.FAILED])
        for name, c in sorted(counts.items(), key=lambda item: -sum(item[1].values()))
    )
    return FunctionCounts(rows, sampled)
