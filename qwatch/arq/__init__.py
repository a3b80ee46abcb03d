"""arq on Redis: its queues, deferred and in-progress jobs, results and health checks, read-only.

The readers here never import arq, so qwatch watches arq without arq installed.
"""
