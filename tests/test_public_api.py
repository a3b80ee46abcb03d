"""The public API is what `qwatch.__all__` lists, sorted, and all of it importable; RQ is not."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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


def test_only_the_worker_class_imports_rq() -> None:
    package = Path(qwatch.__file__).parent
    importers = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "rq" in imported_modules(path)
    }
    assert importers == {"rq/worker.py"}
    faces = "import qwatch.cli, qwatch.exporter.http.server, qwatch.tui.app, qwatch.rq.stream, sys;"
    loaded = subprocess.run(
        [sys.executable, "-c", faces + "print('rq' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"
