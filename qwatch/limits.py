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
