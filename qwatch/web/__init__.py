"""`qwatch serve`'s web dashboard: the queues, workers and failures of every Redis, in a browser."""

REFRESH = 5.0
"""Seconds between two refreshes of a page, and the age past which the overview reads again."""
REFRESHES = (0.5, 3600.0)
"""The refreshes `--web-refresh` accepts: under half a second pages would read Redis
at a busy pace; over an hour they would not be live."""
