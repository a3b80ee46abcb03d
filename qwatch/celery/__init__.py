"""Celery on Redis, read from kombu's keys and Celery's events."""
