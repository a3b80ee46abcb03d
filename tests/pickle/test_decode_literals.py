"""Datetimes, Decimals and UUIDs shown as their literals, from real pickles, calling nothing."""

from __future__ import annotations

import datetime
import pickle
import uuid
import zlib
from decimal import Decimal
from typing import Any

import pytest

from qwatch.pickle.decode import decode_job_data, render_pickle
from qwatch.pickle.literals import bytes_literal

UTC = datetime.timezone.utc
PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))
NAMED = datetime.timezone(datetime.timedelta(hours=-5, minutes=-30), "EST")
PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)

VALUES: list[Any] = [
    datetime.datetime(2026, 11, 25, 13, 5, 7, 120000),
    datetime.datetime(2026, 11, 25, 13, 5, 7),
    datetime.datetime(2026, 11, 25),
    datetime.datetime(1, 1, 1, 0, 0, 0, 1),
    datetime.datetime(9999, 12, 31, 23, 59, 59, 999999),
    datetime.datetime(2026, 11, 25, 13, 5, 7, 120000, tzinfo=UTC),
    datetime.datetime(2026, 3, 29, 1, 30, tzinfo=PLUS_TWO),
    datetime.datetime(2026, 3, 29, 1, 30, tzinfo=NAMED),
    datetime.date(2026, 11, 25),
    datetime.date(1, 1, 1),
    datetime.time(13, 5, 7, 120000),
    datetime.time(13, 5),
    datetime.time(0, 0, 7),
    datetime.time(23, 59, 59, 1, tzinfo=UTC),
    datetime.time(8, 0, tzinfo=PLUS_TWO),
    datetime.timedelta(0),
    datetime.timedelta(days=3, seconds=5, microseconds=7),
    datetime.timedelta(seconds=-1),
    datetime.timedelta(microseconds=1),
    UTC,
    PLUS_TWO,
    NAMED,
    Decimal("1.50"),
    Decimal("-0.000"),
    Decimal("1E+3"),
    Decimal("NaN"),
    Decimal("-Infinity"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    uuid.UUID(int=0),
    uuid.UUID(int=(1 << 128) - 1),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_each_value_is_shown_as_its_repr(value: object, protocol: int) -> None:
    assert render_pickle(pickle.dumps(value, protocol=protocol)) == repr(value)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_job_call_shows_its_arguments_as_literals(protocol: int) -> None:
    when = datetime.datetime(2026, 11, 25, 13, 5, 7, 120000)
    call = ("app.bill", None, (when, Decimal("1.50")), {"order": uuid.UUID(int=1)})
    data = zlib.compress(pickle.dumps(call, protocol=protocol))
    assert decode_job_data(data).arguments == (
        "datetime.datetime(2026, 11, 25, 13, 5, 7, 120000), Decimal('1.50'),"
        " order=UUID('00000000-0000-0000-0000-000000000001')"
    )


def test_fold_is_shown_from_protocol_4() -> None:
    late = datetime.datetime(2026, 10, 25, 2, 30, fold=1)
    assert render_pickle(pickle.dumps(late, protocol=4)) == repr(late)
    assert render_pickle(pickle.dumps(datetime.time(2, 30, fold=1), protocol=5)).endswith("fold=1)")


def test_a_zone_other_than_a_fixed_offset_is_a_placeholder() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        paris = zoneinfo.ZoneInfo("Europe/Paris")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database on this machine")
    when = datetime.datetime(2026, 11, 25, 13, 5, tzinfo=paris)
    assert render_pickle(pickle.dumps(when, protocol=4)) == (
        "datetime.datetime(2026, 11, 25, 13, 5,"
        " tzinfo=<zoneinfo.ZoneInfo._unpickle('Europe/Paris', 1)>)"
    )


@pytest.mark.parametrize(
    "state",
    [
        b"\x07\xea\x0d\x19\r\x05\x07\x01\xd4\xc0",  # month 13
        b"\x07\xea\x0b\x19\x18\x05\x07\x01\xd4\xc0",  # hour 24
        b"\x07\xea\x0b\x19\r\x05\x07\xff\xff\xff",  # microsecond 16,777,215
        b"\x00\x00\x0b\x19\r\x05\x07\x01\xd4\xc0",  # year 0
        b"short",
    ],
)
def test_impossible_state_is_a_placeholder_not_a_date(state: bytes) -> None:
    forged = (
        b"\x80\x04\x8c\x08datetime\x8c\x08datetime\x93C" + bytes([len(state)]) + state + b"\x85R."
    )
    assert render_pickle(forged).startswith("<datetime.datetime(b'")


def test_text_that_is_not_a_decimal_is_not_shown_as_one() -> None:
    forged = b"\x80\x04\x8c\x07decimal\x8c\x07Decimal\x93\x8c\x05rm -r\x85R."
    assert render_pickle(forged) == "<decimal.Decimal('rm -r')>"


@pytest.mark.parametrize("protocol", range(3))
def test_old_protocol_bytes_are_the_bytes_repr(protocol: int) -> None:
    every = bytes(range(256))
    for value in (every, b"'", b'"', b"'\"", b"", b"\\\t\n\r"):
        assert render_pickle(pickle.dumps(value, protocol=protocol)) == repr(value)
        assert bytes_literal(value.decode("latin-1")) == repr(value)
