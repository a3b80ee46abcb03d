"""A file replaced whole: the old one or the new one is on disk, never a mix of both.

`qwatch serve --state-file` keeps two files this way, the state file and its
history: a crash or a full disk mid-write leaves the last one written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomically(path: Path, pieces: Iterable[bytes]) -> None:
    """`pieces` written to a temporary file beside `path`, flushed to disk, then renamed over
    it; on any failure (of the disk, or of `pieces` as they are made) the temporary is
    removed and `path` left as it was."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            for piece in pieces:
                file.write(piece)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
