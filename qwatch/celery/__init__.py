"""Celery on Redis, read without a write: its broker lists, its events, its results."""
