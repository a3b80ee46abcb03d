<<<<<<< HEAD
"""Celery's queues as kombu's Redis transport keeps them, read without Celery or writing."""
=======
"""Celery on Redis, read without a write: its broker lists, its events, its results."""
>>>>>>> celery-events
