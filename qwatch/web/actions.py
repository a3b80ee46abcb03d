"""The dashboard's writes: off unless `qwatch serve --web-actions`, each confirmed, each logged.

An action is a POST carrying a token only the dashboard's own pages hold
(an HMAC of a secret drawn at start), from a page of the same origin when the
browser says so, to a host name the dashboard answers to: an IP address,
`localhost`, this machine's names or one given with `--web-host`. So a page
elsewhere cannot make a visitor's browser requeue or empty anything, not
even through a name of its own that it points at the dashboard's address
(DNS rebinding). The first POST shows what would happen and a button that
sends it again confirmed; only the second acts, through `Watch`'s actions.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from qwatch.watch import CLEARABLE, Watch

Form = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Action:
    """One write: what the confirmation asks, the form fields it needs, what it calls."""

    question: str
    fields: tuple[str, ...]
    run: Callable[[Watch, Form], str]


ACTIONS: dict[str, Action] = {
    "requeue": Action(
        "Requeue failed job {job}?", ("job",), lambda watch, form: watch.requeue_failed(form["job"])
    ),
    "delete": Action(
        "Delete failed job {job}? Its record is gone for good.",
        ("job",),
        lambda watch, form: watch.delete_failed(form["job"]),
    ),
    "requeue-all": Action(
        "Requeue every failed job of queue {queue}?",
        ("queue",),
        lambda watch, form: watch.requeue_all_failed(form["queue"]),
    ),
    "empty": Action(
        "Empty queue {queue}? Its waiting jobs are deleted.",
        ("queue",),
        lambda watch, form: watch.empty_queue(form["queue"]),
    ),
    "empty-registry": Action(
        "Delete every {state} job of queue {queue}?",
        ("queue", "state"),
        lambda watch, form: watch.empty_registry(form["queue"], form["state"]),
    ),
}
REGISTRIES = CLEARABLE
"""The registries `empty-registry` may empty: never the started one (running jobs)."""


class Guard:
    """The token every action form carries, and the checks a POST passes before it acts."""

    def __init__(self, hosts: Iterable[str] = ()) -> None:
        """`hosts`: names the dashboard answers to besides addresses and this machine's."""
        secret = secrets.token_bytes(32)
        self.token = hmac.new(secret, b"qwatch-actions", hashlib.sha256).hexdigest()
        known = {"localhost", socket.gethostname(), socket.getfqdn(), *hosts}
        self.hosts = {name.lower() for name in known}

    def refusal(self, name: str, form: Form, origin: str | None, host: str | None) -> str | None:
        """Why this POST may not act, or None."""
        action = ACTIONS.get(name)
        if action is None:
            return f"no action {name!r}"
        if not self.known_host(host):
            return (
                f"this dashboard does not answer to the host name {_host_name(host or '')!r}"
                " (name it with qwatch serve --web-host)"
            )
        if not hmac.compare_digest(form.get("token", ""), self.token):
            return "this form is not one of this dashboard's (reload the page and try again)"
        if origin is not None and origin != "null" and origin.split("://", 1)[-1] != host:
            return "a page of another site sent this form"
        missing = [field for field in action.fields if not form.get(field)]
        if missing:
            return f"missing {', '.join(missing)}"
        if name == "empty-registry" and form["state"] not in REGISTRIES:
            return f"only the {', '.join(REGISTRIES)} registries can be emptied"
        return None

    def known_host(self, host: str | None) -> bool:
        """Whether the Host header names this dashboard: an address, or a name it knows."""
        name = _host_name(host or "")
        if name in self.hosts:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True


def _host_name(host: str) -> str:
    """`[::1]:19726` is `::1`, `queues.internal:19726` is `queues.internal`."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0].lower()
