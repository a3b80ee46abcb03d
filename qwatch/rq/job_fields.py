"""The field names of RQ's job hash (`rq:job:<id>`) and of its results stream's entries.

Every module that reads or writes a job names the fields through these, so
that RQ's layout is written once.
"""

from __future__ import annotations

STATUS = "status"
"""One of `qwatch.job_states`, as RQ last wrote it."""
ORIGIN = "origin"
"""The name of the queue the job was enqueued on."""
DATA = "data"
"""The pickled call (function, instance, args, kwargs), zlib-compressed; never unpickled."""
DESCRIPTION = "description"
"""RQ's text of the whole call, such as `tasks.add(1, 2)`."""
WORKER_NAME = "worker_name"
"""The worker that last ran the job."""
CREATED_AT = "created_at"
ENQUEUED_AT = "enqueued_at"
STARTED_AT = "started_at"
ENDED_AT = "ended_at"
EXC_INFO = "exc_info"
"""The traceback of a failure, in RQ before 2 (RQ 2 writes it to the results stream)."""
TIMEOUT = "timeout"
META = "meta"
"""The job's pickled `meta` dict, often progress; never unpickled."""
RETRIES_LEFT = "retries_left"
NUMBER_OF_RETRIES = "number_of_retries"
RETRY_INTERVALS = "retry_intervals"
"""A JSON list of seconds between retries."""
DEPENDENCY_IDS = "dependency_ids"
"""A JSON list of the ids of the jobs this one waits for."""

RESULT_TYPE = "type"
"""A results entry's outcome, a number (`qwatch.rq.results.OUTCOMES`)."""
RESULT_WORKER_NAME = "worker_name"
RESULT_RETURN_VALUE = "return_value"
"""The pickled return value, base64; never unpickled."""
RESULT_EXC_STRING = "exc_string"
"""The traceback, zlib-compressed and base64."""
RESULT_EXECUTION_ID = "execution_id"
RESULT_EXECUTION_STARTED_AT = "execution_started_at"
RESULT_EXECUTION_ENDED_AT = "execution_ended_at"
