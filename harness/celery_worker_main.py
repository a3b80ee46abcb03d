"""What `celery -A harness.celery_worker_main worker` loads: the harness app."""

from harness.celery_app import worker_app

app = worker_app()
