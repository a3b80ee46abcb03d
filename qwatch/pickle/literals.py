"""Well-known values shown as their literals, rebuilt from pickled state by arithmetic alone.

A datetime is pickled as a call of `datetime.datetime` with ten bytes of
state, a Decimal as a call with its text, a UUID as an object whose state
holds its 128-bit int. Reading those bytes and numbers gives the same text
as the value's `repr`, without importing or calling anything the pickle
names. State that does not look exactly as the standard library writes it
gives None, and the caller shows a placeholder instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from qwatch.pickle.machine import Call, Dict, Global, Latin1Bytes

_DECIMAL = re.compile(
    r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|Infinity|Inf|s?NaN\d*)", re.IGNORECASE
)
_MAX_TEXT = 100
"""Longest Decimal or zone name shown as a literal; longer is shown as a cut placeholder."""
_MAX_TIMEDELTA_DAYS = 999_999_999
_RECONSTRUCTORS = {"copyreg._reconstructor", "copy_reg._reconstructor"}


def bytes_literal(text: str) -> str | None:
    """`b'...'` for bytes spelled as latin-1 text, as `repr` writes it; None if not latin-1.

    Pure string work: each code point is a byte value, so no codec is needed.
    """
    if text and max(text) > "\xff":
        return None
    quote = '"' if "'" in text and '"' not in text else "'"
    return f"b{quote}{text.translate(_ESCAPES[quote])}{quote}"


def _byte_escapes(quote: str) -> dict[int, str]:
    escapes = {}
    for code in range(256):
        char = chr(code)
        if char in (quote, "\\"):
            escapes[code] = "\\" + char
        elif char in "\t\n\r":
            escapes[code] = repr(char)[1:-1]
        elif not 32 <= code < 127:
            escapes[code] = f"\\x{code:02x}"
    return escapes


_ESCAPES = {quote: _byte_escapes(quote) for quote in "'\""}


def literal(call: Call) -> str | None:
    """The literal text of a well-known value, or None."""
    name, args = _class_and_args(call)
    maker = _MAKERS.get(name)
    return maker(args, call.state) if maker is not None else None


def _class_and_args(call: Call) -> tuple[str, Any]:
    """The class a call makes and its arguments, seeing through protocol 0's reconstructor."""
    name = call.factory.name if isinstance(call.factory, Global) else ""
    args = call.args
    if name in _RECONSTRUCTORS and isinstance(args, tuple) and args:
        inner = args[0]
        return (inner.name if isinstance(inner, Global) else "", ())
    return name, args


def _state_bytes(value: Any, size: int) -> list[int] | None:
    """The byte values of a datetime's state, stored as bytes or as latin-1 text."""
    if isinstance(value, bytes) and len(value) == size:
        return list(value)
    if isinstance(value, Latin1Bytes) and len(value.text) == size:
        codes = [ord(char) for char in value.text]
        return codes if max(codes) < 256 else None
    return None


def _date(args: Any, state: Any) -> str | None:
    if not (isinstance(args, tuple) and len(args) == 1):
        return None
    codes = _state_bytes(args[0], 4)
    if codes is None or not _valid_date(codes[0] * 256 + codes[1], codes[2], codes[3]):
        return None
    return f"datetime.date({codes[0] * 256 + codes[1]}, {codes[2]}, {codes[3]})"


def _datetime(args: Any, state: Any) -> str | None:
    parts = _with_zone(args, 10)
    if parts is None:
        return None
    codes, zone = parts
    year, month, fold = codes[0] * 256 + codes[1], codes[2] & 0x7F, codes[2] >> 7
    clock = _clock(codes[4:])
    if clock is None or not _valid_date(year, month, codes[3]):
        return None
    return f"datetime.datetime({year}, {month}, {codes[3]}, {clock}{zone}{_fold(fold)})"


def _time(args: Any, state: Any) -> str | None:
    parts = _with_zone(args, 6)
    if parts is None:
        return None
    codes, zone = parts
    clock = _clock([codes[0] & 0x7F, *codes[1:]])
    return None if clock is None else f"datetime.time({clock}{zone}{_fold(codes[0] >> 7)})"


def _with_zone(args: Any, size: int) -> tuple[list[int], str] | None:
    """A datetime's or time's state bytes and `, tzinfo=...` text (empty without a zone)."""
    if not (isinstance(args, tuple) and len(args) in (1, 2)):
        return None
    codes = _state_bytes(args[0], size)
    if codes is None:
        return None
    if len(args) == 1 or args[1] is None:
        return codes, ""
    zone = args[1]
    shown = literal(zone) if isinstance(zone, Call) and _is_timezone(zone) else None
    return codes, f", tzinfo={shown or _placeholder(zone)}"


def _clock(codes: list[int]) -> str | None:
    """`13, 5, 7, 120000` from hour, minute, second and three bytes of microseconds.

    Like `repr`: zero microseconds, then a zero second, are left out.
    """
    hour, minute, second = codes[:3]
    micro = (codes[3] << 16) | (codes[4] << 8) | codes[5]
    if hour > 23 or minute > 59 or second > 59 or micro > 999_999:
        return None
    fields = [hour, minute, second, micro] if micro else [hour, minute, second]
    return ", ".join(map(str, fields if micro or second else fields[:2]))


def _fold(fold: int) -> str:
    return ", fold=1" if fold else ""


def _valid_date(year: int, month: int, day: int) -> bool:
    return 1 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= 31


def _timedelta(args: Any, state: Any) -> str | None:
    if not (isinstance(args, tuple) and len(args) == 3 and all(_is_int(a) for a in args)):
        return None
    days, seconds, micro = args
    if abs(days) > _MAX_TIMEDELTA_DAYS or not 0 <= seconds < 86400 or not 0 <= micro < 10**6:
        return None
    named = [
        f"{label}={value}"
        for label, value in (("days", days), ("seconds", seconds), ("microseconds", micro))
        if value
    ]
    return f"datetime.timedelta({', '.join(named) or '0'})"


def _timezone(args: Any, state: Any) -> str | None:
    if not (isinstance(args, tuple) and len(args) in (1, 2)):
        return None
    offset = args[0]
    shown = literal(offset) if _named(offset, "datetime.timedelta") else None
    if shown is None:
        return None
    days, seconds, micro = offset.args
    if not -86_400 * 10**6 < (days * 86_400 + seconds) * 10**6 + micro < 86_400 * 10**6:
        return None
    if len(args) == 1:
        utc = shown == "datetime.timedelta(0)"
        return "datetime.timezone.utc" if utc else f"datetime.timezone({shown})"
    name = args[1]
    if not (isinstance(name, str) and len(name) <= _MAX_TEXT):
        return None
    return f"datetime.timezone({shown}, {name!r})"


def _decimal(args: Any, state: Any) -> str | None:
    if not (isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], str)):
        return None
    text = args[0]
    return f"Decimal({text!r})" if len(text) <= _MAX_TEXT and _DECIMAL.fullmatch(text) else None


def _uuid(args: Any, state: Any) -> str | None:
    if args != () or not isinstance(state, Dict):
        return None
    number = next((value for key, value in state.pairs[:3] if key == "int"), None)
    if not (isinstance(number, int) and _is_int(number) and 0 <= number < 1 << 128):
        return None
    digits = f"{number:032x}"
    return f"UUID('{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}')"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _named(value: Any, name: str) -> bool:
    return isinstance(value, Call) and _class_and_args(value)[0] == name


def _is_timezone(zone: Call) -> bool:
    return _named(zone, "datetime.timezone")


def _placeholder(value: Any) -> str:
    """A zone qwatch cannot show as a literal, named with its short plain arguments."""
    if not isinstance(value, Call):
        return "<tzinfo>"
    name, args = _class_and_args(value)
    plain = isinstance(args, tuple) and len(args) <= 4 and all(_short_plain(a) for a in args)
    inner = ", ".join(repr(arg) for arg in args) if plain else "…"
    return f"<{name or 'tzinfo'}({inner})>"


def _short_plain(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= _MAX_TEXT
    return value is None or (_is_int(value) and abs(value) < 10**18)


_MAKERS: dict[str, Callable[[Any, Any], str | None]] = {
    "datetime.datetime": _datetime,
    "datetime.date": _date,
    "datetime.time": _time,
    "datetime.timedelta": _timedelta,
    "datetime.timezone": _timezone,
    "decimal.Decimal": _decimal,
    "uuid.UUID": _uuid,
}
