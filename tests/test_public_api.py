"""The public API is what `qwatch.__all__` lists, sorted, and importable; RQ and Dramatiq not."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import qwatch


def test_all_is_sorted_and_importable() -> None:
    assert qwatch.__all__ == sorted(qwatch.__all__)
    for name in qwatch.__all__:
        assert hasattr(qwatch, name), name


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a source file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    ("library", "importer", "reader"),
    [
        ("rq", "rq/worker.py", "qwatch.rq.stream"),
        ("dramatiq", "dramatiq/middleware.py", "qwatch.dramatiq.completions"),
    ],
)
def test_only_the_worker_pieces_import_their_queue_library(
    library: str, importer: str, reader: str
) -> None:
    """qwatch watches RQ and Dramatiq without either installed: only the pieces that run
    inside their workers import them."""
    package = Path(qwatch.__file__).parent
    importers = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if library in imported_modules(path)
    }
    assert importers == {importer}
    faces = f"import qwatch.cli, qwatch.exporter.http.server, qwatch.tui.app, {reader}, sys;"
    loaded = subprocess.run(
        [sys.executable, "-c", faces + f"print({library!r} in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"
