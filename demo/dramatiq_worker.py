"""What each demo Dramatiq worker imports: the harness's actors, taken off the demo's queues.

`harness.dramatiq_app` builds the worker's broker from the environment (with
qwatch's middleware when asked) and declares its actors on `default`. A
Dramatiq worker consumes only the queues declared on its broker, and runs
whichever declared actor a message names, whatever queue it came from: so
declaring the demo's queues is all it takes for `harness.sleep` on `exports`.
"""

from __future__ import annotations

import os

import dramatiq

from demo.dramatiq_workload import DRAMATIQ_WORKERS
from harness.dramatiq_app import BROKER

if BROKER in os.environ:  # imported by `dramatiq demo.dramatiq_worker`, after the harness
    for _queues, _exact in DRAMATIQ_WORKERS:
        for _queue in _queues:
            dramatiq.get_broker().declare_queue(_queue)
