"""`qwatch serve`: a Prometheus exporter for RQ."""
