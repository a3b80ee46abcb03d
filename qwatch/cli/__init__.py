"""The `qwatch` command."""

from qwatch.cli.commands import main

__all__ = ["main"]
