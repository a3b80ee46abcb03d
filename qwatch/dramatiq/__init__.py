"""Dramatiq on Redis: its queues, delay queues, dead letters and broker heartbeats, read-only."""
