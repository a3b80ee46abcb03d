"""Redis plumbing that knows no queue system: round trips, replies, memory, connections."""
