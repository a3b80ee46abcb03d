"""Messages shaped as Celery and kombu publish them, built by hand for the listener's tests."""

from __future__ import annotations

import base64
import json
import time
from typing import Any


def envelope(body: Any, routing_key: str = "worker.heartbeat") -> bytes:
    """An event message as kombu's Redis transport PUBLISHes it (`Channel._put_fanout`)."""
    return json.dumps(
        {
            "body": base64.b64encode(json.dumps(body).encode()).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {"hostname": "fake@host"},
            "properties": {
                "delivery_mode": 1,
                "delivery_info": {"exchange": "celeryev", "routing_key": routing_key},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": "0d6f3c56-0000-4000-8000-000000000000",
            },
        }
    ).encode()


def heartbeat(name: str, processed: int = 0, kind: str = "worker-heartbeat") -> dict[str, Any]:
    """A worker event with the fields `celery/worker/heartbeat.py` sends."""
    return {
        "hostname": name,
        "utcoffset": 0,
        "pid": 4242,
        "clock": 1,
        "freq": 2.0,
        "active": 0,
        "processed": processed,
        "loadavg": [0.5, 0.25, 0.1],
        "sw_ident": "py-celery",
        "sw_ver": "5.7.0",
        "sw_sys": "Linux",
        "timestamp": time.time(),
        "type": kind,
    }


def task_event(kind: str, task_id: str, worker: str = "fake@host", **fields: Any) -> dict[str, Any]:
    """A task event from `worker`."""
    return {"hostname": worker, "uuid": task_id, "timestamp": time.time(), "type": kind, **fields}
