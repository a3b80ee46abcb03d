"""Pickles built to hurt: each is decoded within a counted budget of work, calling nothing.

Work is counted, never timed: `work_done()` reports the decoder's steps, and
a profiler records every function the decoder enters while it runs.
"""

from __future__ import annotations

import _codecs
import codecs
import pickle
import random
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import redis
from rq import Queue

import qwatch
from harness import tasks
from qwatch.cli import main
from qwatch.limits import ARGUMENTS_LIMIT
from qwatch.pickle.decode import (
    MAX_NODES,
    MAX_OPCODES,
    MAX_PICKLE_BYTES,
    MAX_STEPS,
    NAME_OPCODES,
    decode_job_data,
    render_pickle,
    work_done,
)
from qwatch.pickle.text import CUT

PACKAGE = Path(qwatch.__file__).resolve().parent
ALLOWED_FILES = {
    "qwatch/pickle/decode.py",
    "qwatch/pickle/machine.py",
    "qwatch/pickle/text.py",
    "qwatch/pickle/literals.py",
    "qwatch/text/formatting.py",
    "pickletools.py",  # the opcode parser: reads bytes, imports and calls nothing
    "pickle.py",  # pickle.decode_long, which pickletools uses to read LONG1 and LONG4
    "<string>",  # the __init__ that dataclasses generate
}
FORBIDDEN_BUILTINS = {
    "__import__", "getattr", "eval", "exec", "compile", "open",
    "encode", "decode", "lookup", "str.encode", "bytes.fromhex", "int.__new__",
}  # fmt: skip
"""By qualified name: `encode`, `decode` and `lookup` are the codec registry's (`_codecs`);
the parser's own reading of stored UTF-8 (`bytes.decode`) is allowed."""
MOST_OUTPUT = ARGUMENTS_LIMIT + len(CUT)


def raw_call(*args: bytes) -> bytes:
    """A protocol-2 job tuple ('f', None, (args...), {}) around hand-written opcodes."""
    return b"\x80\x02(X\x01\x00\x00\x00fN(" + b"".join(args) + b"t}t."


def binunicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + len(data).to_bytes(4, "little") + data


def punycode_call(length: int) -> bytes:
    return raw_call(
        b"c_codecs\nencode\n" + binunicode("x" * length) + binunicode("punycode") + b"\x86R"
    )


def shared_levels(levels: int, width: int) -> object:
    value: object = [1]
    for _ in range(levels):
        value = [value] * width
    return value


def self_containing(width: int) -> list[object]:
    cycle: list[object] = []
    cycle.extend([cycle] * width)
    return cycle


def deep(depth: int) -> bytes:
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


def watched(call: Callable[[bytes], object], data: bytes) -> object:
    """`call(data)`, failing if it enters any code but the decoder's own or calls a codec, an
    import or a lookup. `_codecs.encode` is also replaced by one that raises, in case."""
    entered: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            path = Path(frame.f_code.co_filename)
            inside = path.is_relative_to(PACKAGE)
            name = str(path.relative_to(PACKAGE.parent)) if inside else path.name
            if name not in ALLOWED_FILES:
                entered.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")
        elif event == "c_call" and getattr(arg, "__qualname__", "") in FORBIDDEN_BUILTINS:
            entered.append(f"builtin {arg.__qualname__}")

    def refuse(*args: object) -> None:
        raise AssertionError("a codec was called")

    saved = (_codecs.encode, codecs.encode)
    _codecs.encode = codecs.encode = refuse  # type: ignore[assignment]
    sys.setprofile(profile)
    try:
        result = call(data)
    finally:
        sys.setprofile(None)
        _codecs.encode, codecs.encode = saved
    assert entered == [], entered
    return result


def decoded(data: bytes, decoder: Callable[[bytes], object], watch: bool = True) -> tuple[str, int]:
    """What `decoder` shows for `data` and the steps it took; `watch` checks it called nothing
    (a profiler costs much: long walks are only counted)."""
    before = work_done()
    shown = str(watched(decoder, data) if watch else decoder(data))
    after = work_done()
    assert after.calls - before.calls == 1
    steps = after.steps - before.steps
    assert steps <= MAX_STEPS and after.most_steps <= MAX_STEPS
    return shown, steps


def job(value: object, protocol: int = 2) -> bytes:
    return zlib.compress(pickle.dumps(("f", None, (value,), {}), protocol=protocol))


def test_memo_shared_lists_twelve_levels_deep_are_rendered_once() -> None:
    payload = pickle.dumps(("f", None, (shared_levels(12, 50),), {}), protocol=2)
    assert len(payload) < 2048  # expanded, 50**12 lists
    shown, steps = decoded(zlib.compress(payload), decode_job_data)
    assert shown.startswith("f([[[[[[[[[[[[…], <shared list>, <shared list>")
    assert len(shown) <= len("f()") + MOST_OUTPUT
    assert steps < 2_000


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_an_int_over_4300_digits_is_shown_by_its_size(protocol: int) -> None:
    shown, steps = decoded(job(-(10**5000), protocol), decode_job_data)
    assert shown == "f(<int of about 5,001 digits>)"
    assert steps < 50


def test_an_int_written_as_5000_decimal_digits_is_a_note() -> None:
    text_long = b"(S'f'\nNL" + b"9" * 5000 + b"L\ntp0\n(dtp1\n."
    shown, _steps = decoded(zlib.compress(text_long), decode_job_data)
    assert shown.startswith("<undecodable job data: ValueError: ")


def test_a_punycode_call_is_shown_not_made() -> None:
    payload = punycode_call(12_000)
    shown, steps = decoded(zlib.compress(payload), decode_job_data)
    assert shown.startswith("f(<_codecs.encode('xxxx") and shown.endswith(CUT + ")")
    assert len(shown) <= len("f()") + MOST_OUTPUT
    assert steps < 30


def test_latin1_bytes_are_read_without_a_codec() -> None:
    shown, _steps = decoded(job(bytes(range(256)) * 4, protocol=2), decode_job_data)
    assert shown.startswith("f(b'\\x00\\x01") and shown.endswith(CUT + ")")


def test_a_127_byte_list_that_contains_itself_ends() -> None:
    payload = pickle.dumps(("f", None, (self_containing(50),), {}), protocol=2)
    assert len(payload) == 127
    shown, steps = decoded(zlib.compress(payload), decode_job_data)
    assert shown == "f([" + ", ".join(["<cycle>"] * 50) + "])"
    assert steps < 200


def test_a_dict_and_an_object_inside_themselves_end() -> None:
    mapping: dict[str, object] = {}
    mapping["self"] = mapping
    shown, _steps = decoded(pickle.dumps(mapping, protocol=4), render_pickle)
    assert shown == "{'self': <cycle>}"
    holder: list[object] = []
    holder.append(range(3))
    holder.append(holder)
    shown, _steps = decoded(pickle.dumps(holder, protocol=4), render_pickle)
    assert shown == "[<builtins.range(0, 3, 1)>, <cycle>]"


@pytest.mark.parametrize("depth", [100, 20_000])
def test_deep_nesting_is_cut_at_the_depth_limit(depth: int) -> None:
    shown, steps = decoded(deep(depth), render_pickle, watch=depth < 1000)
    assert shown == "[" * 13 + "…" + "]" * 13
    assert steps <= 2 * depth + 20


def test_a_pickle_longer_than_the_opcode_budget_is_a_note() -> None:
    shown, steps = decoded(deep(MAX_OPCODES), render_pickle, watch=False)
    assert shown == f"<undecodable pickle: more than {MAX_OPCODES:,} opcodes>"
    assert steps == MAX_OPCODES + 1
    many = zlib.compress(pickle.dumps(("app.f", None, (list(range(60_000)),), {}), protocol=4))
    shown, _steps = decoded(many, decode_job_data, watch=False)
    assert shown == f"app.f(<arguments not shown: more than {MAX_OPCODES:,} opcodes>)"


def test_a_huge_string_costs_its_shown_part() -> None:
    shown, steps = decoded(job("x" * 900_000, protocol=4), decode_job_data)
    assert len(shown) == len("f()") + MOST_OUTPUT and steps < 20


def test_memo_references_to_huge_values_cost_one_step_each() -> None:
    big = "y" * 400_000
    shown, steps = decoded(job([big] * 20_000, protocol=4), decode_job_data, watch=False)
    assert len(shown) <= len("f()") + MOST_OUTPUT and steps < 20_100
    name = binunicode("m" * 400_000) + b"q\x00"
    names = b"".join(b"h\x00h\x00\x93" for _ in range(500))  # STACK_GLOBAL of memo refs
    shown, _steps = decoded(b"\x80\x04(" + name + b"0" + names + b"l.", render_pickle)
    assert shown.startswith("[<mmmm") and len(shown) <= MOST_OUTPUT
    encodes = b"".join(b"c_codecs\nencode\nh\x00X\x06\x00\x00\x00latin1\x86R" for _ in range(500))
    shown, _steps = decoded(b"\x80\x02(" + name + b"0" + encodes + b"l.", render_pickle)
    assert shown.startswith("[b'mmmm") and len(shown) <= MOST_OUTPUT


def test_truncated_and_random_zlib_are_notes() -> None:
    good = job({"a": list(range(100))}, protocol=4)
    rng = random.Random(9)
    payloads = [good[:cut] for cut in range(2, len(good), 7)]
    payloads += [rng.randbytes(rng.randrange(1, 400)) for _ in range(200)]
    payloads += [zlib.compress(rng.randbytes(rng.randrange(1, 400))) for _ in range(200)]
    for payload in payloads:
        shown, _steps = decoded(payload, decode_job_data)
        assert len(shown) <= 3 * MOST_OUTPUT


def test_input_larger_than_the_limit_is_not_walked() -> None:
    shown, steps = decoded(b"\x80\x04" + b"N0" * MAX_PICKLE_BYTES + b"N.", render_pickle)
    assert shown == f"<undecodable pickle: larger than {MAX_PICKLE_BYTES} bytes>" and steps == 0


HOSTILE_JOBS: dict[str, bytes] = {
    "shared": zlib.compress(pickle.dumps(("f", None, (shared_levels(12, 50),), {}), 2)),
    "int": job(10**5000, protocol=4),
    "punycode": zlib.compress(punycode_call(12_000)),
    "cycle": zlib.compress(pickle.dumps(("f", None, (self_containing(50),), {}), 2)),
    "deep": zlib.compress(deep(40_000)),
    "string": job("z" * 900_000, protocol=4),
    "truncated": job(list(range(1000)), protocol=4)[:-20],
    "garbage": b"\x78\x9c" + random.Random(3).randbytes(3000),
}


def plant(client: redis.Redis) -> list[str]:
    """A real failed job per hostile payload, its data and result replaced by the payload."""
    ids = []
    for data in HOSTILE_JOBS.values():
        rq_job = Queue("default", connection=client).enqueue(tasks.add, 1, 2)
        client.hset(rq_job.key, mapping={"data": data, "status": "failed"})
        client.zadd("rq:failed:default", {rq_job.id: 9e12})
        ids.append(rq_job.id)
    return ids


def test_job_and_failed_on_hostile_jobs_do_bounded_work(
    client: redis.Redis, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = plant(client)
    before = work_done()
    assert main(["failed", "--url", url]) == 0
    listed = capsys.readouterr().out
    after_failed = work_done()
    for job_id in ids:
        assert main(["job", job_id, "--url", url]) == 0
        assert len(capsys.readouterr().out) < 5 * MOST_OUTPUT  # a page, not megabytes
    after = work_done()
    assert all(job_id in listed for job_id in ids)
    assert len(listed) < len(ids) * 1_000
    assert after_failed.calls - before.calls == len(ids)
    assert after.calls - after_failed.calls == len(ids)
    assert after_failed.steps - before.steps <= len(ids) * (NAME_OPCODES + MAX_NODES)
    assert after.steps - after_failed.steps <= len(ids) * MAX_STEPS
    assert after.most_steps <= MAX_STEPS
