"""Pickled job data rendered from opcodes alone; pure parsing, no Redis needed."""

from __future__ import annotations

import decimal
import pickle
import zlib

import pytest

from qwatch.pickle.decode import (
    NAME_OPCODES,
    call_name,
    decode_job_data,
    function_name,
    render_pickle,
    work_done,
)
from qwatch.pickle.machine import Meter
from qwatch.pickle.text import CUT, Renderer


def job_data(*call: object, protocol: int = pickle.HIGHEST_PROTOCOL) -> bytes:
    return zlib.compress(pickle.dumps(call, protocol=protocol))


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_values_are_python_literals(protocol: int) -> None:
    args = (1, -2.5, "é", b"\x00", None, True, [1, [2]], (3,), {"k": {4}}, frozenset([5]))
    data = job_data("app.send", None, args, {"to": "a@b.c"}, protocol=protocol)
    call = decode_job_data(data)
    assert call.function == "app.send"
    assert call.arguments == (
        "1, -2.5, 'é', b'\\x00', None, True, [1, [2]], (3,), {'k': {4}}, frozenset({5}), to='a@b.c'"
    )
    assert str(call) == f"app.send({call.arguments})"


def test_objects_become_placeholders_naming_their_class() -> None:
    data = job_data("app.report", None, (Point(3), decimal.Context()), {"p": Point(1)})
    arguments = decode_job_data(data).arguments
    assert arguments.startswith("<tests.pickle.test_decode.Point()>, <decimal.Context(")
    assert arguments.endswith("p=<tests.pickle.test_decode.Point()>")


def test_bound_methods_show_their_instance() -> None:
    data = job_data("send", Point(1), (), {})
    assert decode_job_data(data).function == "<tests.pickle.test_decode.Point()>.send"


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (None, "<no function recorded>"),
        (b"", "<no function recorded>"),
        (b"plain text", "<undecodable job data: not zlib-compressed>"),
        (zlib.compress(b"\x80\x05garbage"), "<undecodable job data: "),
        (zlib.compress(pickle.dumps([1, 2])), "<unexpected job data: [1, 2]>"),
        (zlib.compress(b"\x80\x05N"), "<undecodable job data: ValueError: pickle exhausted"),
    ],
)
def test_garbage_gives_a_readable_note(data: bytes | None, shown: str) -> None:
    call = decode_job_data(data)
    assert call.function.startswith(shown) and not call.readable
    assert str(call) == call.function
    assert function_name(data) is None


def test_a_decompression_bomb_is_not_inflated() -> None:
    bomb = zlib.compress(b"\x00" * (50 << 20))
    assert decode_job_data(bomb).function == "<undecodable job data: larger than 1048576 bytes>"


def test_long_and_deep_values_are_bounded() -> None:
    wide = decode_job_data(job_data("f", None, (list(range(500)),), {})).arguments
    assert wide.endswith(", … 450 more]")
    deep: list[object] = []
    for _ in range(100):
        deep = [deep]
    assert "…" in render_pickle(pickle.dumps(deep))
    cyclic: list[object] = []
    cyclic.append(cyclic)
    assert render_pickle(pickle.dumps(cyclic)).count("[") <= 20
    long_text = decode_job_data(job_data("f", None, ("x" * 10_000,), {}), limit=100).arguments
    assert long_text == "'" + "x" * 99 + "… [more characters cut]"


def test_rendering_stops_when_the_record_has_spent_its_steps() -> None:
    meter = Meter()
    renderer = Renderer(meter, max_steps=5, max_depth=12, max_items=50, max_int_digits=100)
    assert renderer.text(list(range(100)), limit=1000) == "[0, 1, 2, 3, " + CUT
    assert meter.steps == 6


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_the_call_name_is_read_from_the_head_alone(protocol: int) -> None:
    small = job_data("app.send", None, (1,), {}, protocol=protocol)
    method = job_data("send", Point(1), (1,), {}, protocol=protocol)
    for data in (small, method, None, b"junk", zlib.compress(pickle.dumps([1, 2]))):
        assert call_name(data) == decode_job_data(data).function
    huge = job_data("app.send", Point(1), (list(range(100_000)),), {}, protocol=protocol)
    expected = decode_job_data(job_data("app.send", Point(1), (), {}, protocol=protocol)).function
    before = work_done()
    assert call_name(huge) == expected and expected.endswith("Point()>.app.send") == (protocol > 1)
    assert work_done().steps - before.steps <= NAME_OPCODES + 10
