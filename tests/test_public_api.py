"""The public API is what `qwatch.__all__` lists, sorted, and all of it importable."""

from __future__ import annotations

import qwatch


def test_all_is_sorted_and_importable() -> None:
    assert qwatch.__all__ == sorted(qwatch.__all__)
    for name in qwatch.__all__:
        assert hasattr(qwatch, name), name
