"""A YAML writer for rule files: block style, quoting only where YAML would misread.

Rule files are mappings, lists and strings; a multi-line string becomes a `|-`
block so PromQL keeps its layout, and long prose a folded `>-` block so lines
stay readable. Stdlib only, so the generator needs nothing installed.
"""

from __future__ import annotations

import json
import re
import textwrap

WIDTH = 80
Yaml = str | int | float | bool | list["Yaml"] | dict[str, "Yaml"]

_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_NOT_A_STRING = re.compile(
    r"[-+]?(\.\d+|\d[\d_]*(\.\d*)?)([eE][-+]?\d+)?"  # numbers
    r"|[-+]?\d[\d_]*(:[0-5]?\d)+(\.\d*)?"  # YAML 1.1 base 60
    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
    r"|(?i:y|n|yes|no|true|false|on|off|null|~)"
)


def dump(value: Yaml, header: str = "") -> str:
    """`value` as a YAML document, after `header` written as comment lines."""
    comments = [f"# {line}".rstrip() for line in header.splitlines()]
    return "\n".join([*comments, *_lines(value, 0)]) + "\n"


def _lines(value: Yaml, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines += [f"{pad}{key}:", *_lines(item, indent + 2)]
            else:
                lines += _scalar(f"{pad}{key}:", item, indent + 2)
        return lines
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            inner = _lines(item, indent + 2)
            lines += [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
        return lines
    return _scalar(pad.rstrip(), value, indent)


def _scalar(prefix: str, value: Yaml, indent: int) -> list[str]:
    lead = f"{prefix} " if prefix else ""
    if isinstance(value, str) and "\n" in value:
        return [f"{lead}|-", *(" " * indent + line for line in value.split("\n"))]
    if isinstance(value, str) and len(value) > WIDTH and _foldable(value):
        return [f"{lead}>-", *(" " * indent + line for line in _wrap(value))]
    return [lead + _inline(value)]


def _inline(value: Yaml) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value if _plain(value) else json.dumps(value)
    return "{}" if isinstance(value, dict) else "[]"


def _plain(text: str) -> bool:
    """Whether `text` reads back as this same string without quotes."""
    return not (
        not text
        or text[0] in _INDICATORS
        or text != text.strip()
        or ": " in text
        or " #" in text
        or text.endswith(":")
        or _NOT_A_STRING.fullmatch(text)
    )


def _foldable(text: str) -> bool:
    """Whether folding at single spaces and unfolding give `text` back."""
    return " " in text and text == text.strip() and "  " not in text and text.isprintable()


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, break_long_words=False, break_on_hyphens=False)
