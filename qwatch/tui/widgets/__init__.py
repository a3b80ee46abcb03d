"""The widgets of `qwatch top`, one per module."""
