"""`qwatch serve`: a Prometheus exporter for RQ and Celery."""

DEFAULT_PORT = 19726
"""rq-exporter's 9726 plus 10000: clear of rq-exporter, redis_exporter (9121),
celery-exporter (9808) and the fully allocated 9100-9999 exporter range."""
