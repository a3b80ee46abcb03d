"""kombu's key names, pinned against kombu's own channel, and layouts kombu would not accept."""

from __future__ import annotations

from typing import Any

import pytest

from harness.celery_app import make_app
from qwatch.celery.layout import CeleryLayout

OPTIONS = [
    {},
    {"sep": ":", "priority_steps": list(range(10))},
    {"global_keyprefix": "tenant{a}*:", "priority_steps": [0, 5]},
]


@pytest.mark.parametrize("options", OPTIONS, ids=["default", "colon-ten-steps", "prefix"])
def test_key_names_are_kombus(url: str, options: dict[str, Any]) -> None:
    layout = CeleryLayout(
        prefix=options.get("global_keyprefix", ""),
        sep=options.get("sep", "\x06\x16"),
        priority_steps=tuple(options.get("priority_steps", (0, 3, 6, 9))),
    )
    app = make_app(url, options)
    with app.connection() as conn:
        channel = conn.default_channel
        prefix = channel.global_keyprefix
        assert layout.priority_keys("jobs") == tuple(
            prefix + channel._q_for_pri("jobs", step) for step in channel.priority_steps
        )
        assert layout.unacked_key == prefix + channel.unacked_key
        assert layout.unacked_index_key == prefix + channel.unacked_index_key
        assert layout.binding_key("jobs") == prefix + channel.keyprefix_queue % ("jobs",)
    app.close()


def test_a_prefix_with_glob_characters_matches_only_itself(client: Any) -> None:
    layout = CeleryLayout(prefix="a*[b]?")
    client.sadd("a*[b]?_kombu.binding.celery", "x")
    client.sadd("aXbY_kombu.binding.celery", "x")
    assert client.keys(layout.binding_pattern) == [b"a*[b]?_kombu.binding.celery"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sep": ""}, "separator"),
        ({"priority_steps": ()}, "at least one"),
        ({"priority_steps": (0, 6, 3)}, "ascending"),
        ({"priority_steps": (0, 3, 3)}, "ascending"),
        ({"priority_steps": (0, 10)}, "from 0 to 9"),
        ({"priority_steps": (-1, 0)}, "from 0 to 9"),
        ({"priority_steps": (0, 1.5)}, "whole numbers"),
        ({"visibility_timeout": 0}, "visibility timeout"),
        ({"visibility_timeout": float("inf")}, "visibility timeout"),
        ({"restore_delay": float("nan")}, "restore delay"),
        ({"queues": ("celery", "")}, "queue name"),
    ],
)
def test_a_layout_kombu_would_not_use_is_refused_in_one_line(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        CeleryLayout(**fields)
    assert "\n" not in str(raised.value)


def test_steps_need_not_start_at_zero_as_in_kombu() -> None:
    layout = CeleryLayout(priority_steps=(3, 6))
    assert layout.priority_keys("q") == ("q\x06\x163", "q\x06\x166")
