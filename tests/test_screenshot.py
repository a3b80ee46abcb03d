"""docs/top.svg and docs/web.png, drawn by `make screenshot`: the docs' pictures are there."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

PICTURE = Path(__file__).resolve().parent.parent / "docs" / "top.svg"


def test_the_picture_is_an_svg_of_the_screenshot_workload() -> None:
    root = ET.parse(PICTURE).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = PICTURE.read_text()
    assert all(queue in text for queue in ("default", "emails", "reports"))
    assert re.search(r"[1-9]\d*&#160;workers", text) and re.search(r"[1-9]\d*&#160;failed", text)


WEB_PICTURE = PICTURE.with_name("web.png")


def test_the_dashboards_picture_is_a_png_of_a_laptop_screen() -> None:
    data = WEB_PICTURE.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 1000 and height >= 600
