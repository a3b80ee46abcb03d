"""Real Redis servers and RQ workers, private to a test run, the demo or a benchmark."""
