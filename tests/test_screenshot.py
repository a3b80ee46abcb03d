"""docs/top.svg, drawn by `make screenshot`: the README's picture of qwatch top is there."""

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
