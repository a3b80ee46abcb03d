"""Every bound qwatch puts on what it reads and shows, in one place.

Redis may hold anything: a name of a megabyte, a traceback of a gigabyte, a
million jobs in one state. Each bound here says how much of such a value
qwatch reads or shows, so one bad record costs a placeholder in one row and
never a hang. The readers and faces take their numbers from here.
"""

from __future__ import annotations

PAGE_LIMIT = 500
"""Jobs a page lists at most, whatever was asked."""
SCAN_WINDOW = 1000
"""Entries a filtered page (or a page of jobs a rate limit holds back) reads from its offset."""

NAME_LIMIT = 512
"""Characters in a queue, worker or job name; longer is no name a person gave."""
GLOBAL_NAME_LIMIT = 200
"""A module or qualified name kept from a pickle; a longer one is cut."""
EXCEPTION_NAME_LIMIT = 200
"""Longer is not an exception's name but a message without one."""
STATE_LIMIT = 64
"""Characters of a job's status or a worker's state: RQ's longest is some twenty."""
SHORT_LIMIT = 64
"""Longer is not a version or an address."""
FUNCTION_LIMIT = 500
"""Characters of a job's function shown: a dotted path, not its arguments."""
ARGUMENTS_LIMIT = 2000
"""Characters of a job's arguments shown (RQ's decoded call, Celery's `argsrepr`)."""
DESCRIPTION_LIMIT = 2000
"""Characters of a job's description on its own page: RQ writes the whole call there."""
ROW_DESCRIPTION_LIMIT = 1000
"""Characters of a current job's description in a worker's row."""
EXCEPTION_LIMIT = 300
"""Characters of an exception's line (`Type: message`) in a list."""
TRACEBACK_LIMIT = 20_000
"""Characters of a traceback shown: its last lines, where the error is, are kept."""
TRACEBACK_BYTES = 1 << 20
"""Bytes of a compressed traceback inflated: a decompression bomb costs no more."""
RESULT_BYTES = 1 << 20
"""A larger return value is not walked: it is named by its size."""
FIRST_LINE_LIMIT = 200
"""Library messages may embed whole object reprs; a log line or an error stays short."""
STREAM_QUEUES_LIMIT = 10_000
"""Queues a completions stream may name beyond those found in Redis' keys (a Dramatiq queue
that empties fast has no key most of the time); entries naming more are skipped."""
QUEUES_TEXT_LIMIT = 16_384
"""Characters of an RQ worker's `queues` field read: some hundreds of queue names."""
MESSAGE_BYTES = 1 << 20
"""Bytes of one Celery task message parsed: a larger one is left unread, whatever it holds."""
EVENT_BYTES = 4 << 20
"""A Celery event or published result larger than this is skipped unread: none of Celery's
is that big (a traceback over it is no traceback anyone reads)."""
BODY_LIMIT = 20_000
"""Characters of a Celery message's body shown."""
PENDING_LIMIT = 100_000
"""Completions kept for the next scrape or refresh; past this (nobody reads them) they are
counted at once, or the oldest dropped."""
SEARCHED_CHARACTERS = 20_000
"""Characters of each field a search reads: a 10 MB argument costs what a long traceback does."""
SEARCH_BUDGETS = (1, 10_000_000)
"""Entries a search may be told to examine: at most ten million (some minutes of reading)."""
SEARCH_SECONDS = (0.1, 600.0)
"""How long a search may be told to run."""
SEARCH_BATCH = 1_000
"""Entries one round trip of a search reads, over as many lists and registries as it takes."""
LOG_LINES = 200
"""Lines of a job's own log `qwatch.rq.Worker` keeps, and a reader shows: the last ones."""
LOG_BYTES = 64 << 10
"""Bytes of a job's own log kept, and read: the last ones, whatever the writer stored."""
LOG_LINE_LIMIT = 1000
"""Characters of one line of a job's own log; the rest is cut, with a note."""
LOG_WRITE_SECONDS = 1.0
"""How long a worker waits for Redis to store a job's log: never the job's time."""
