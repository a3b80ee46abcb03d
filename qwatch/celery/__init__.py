"""Celery's queues as kombu's Redis transport keeps them, read without Celery or writing."""
