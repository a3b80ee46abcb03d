"""Text from Redis made safe for a terminal: control characters shown, never sent.

Any value in Redis may hold an escape sequence (ESC, CSI, OSC), a bell, a C1
control or a bidirectional override; written to a terminal as they are, they
retitle it, clear it, hide text or reorder a line. The faces pass every text
they show through `printable` (one line) or `printable_lines` (a traceback),
which write each such character as its Python escape (`\\x1b`, `\\u202e`), so
the user sees that it is there and the terminal never acts on it. JSON output
needs none of this: `json.dumps` escapes them itself.
"""

from __future__ import annotations

import re

_CONTROLS = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x061C,
    0x200E,
    0x200F,
    *range(0x2028, 0x202F),
    *range(0x2066, 0x206A),
]
"""C0, DEL and C1 controls, line and paragraph separators, bidirectional marks and overrides."""


def _escape(code: int) -> str:
    return repr(chr(code))[1:-1] if code < 0x100 else f"\\u{code:04x}"


_ONE_LINE = {code: _escape(code) for code in _CONTROLS}
_LINES = {code: text for code, text in _ONE_LINE.items() if chr(code) not in "\n\t"}
_ANY_CONTROL = re.compile("[" + "".join(re.escape(chr(code)) for code in _CONTROLS) + "]")


def printable(text: str) -> str:
    """`text` on one line, every control character written as its escape."""
    return text.translate(_ONE_LINE) if _ANY_CONTROL.search(text) else text


def printable_lines(text: str) -> str:
    """Like `printable`, but newlines and tabs stay, so a traceback keeps its shape."""
    if not _ANY_CONTROL.search(text):
        return text
    return text.replace("\r\n", "\n").translate(_LINES)
