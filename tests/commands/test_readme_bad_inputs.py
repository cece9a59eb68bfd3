"""The README's table of bad inputs stays true: each message it quotes is asserted by the test file it names
(every literal part of the quote, between the placeholders F for a file, K for a key and D for a dtype, is in
that file)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def rows() -> list[tuple[str, str, str]]:
    table = (ROOT / "README.md").read_text().split("<!-- bad-inputs -->", 1)[1].split("<!-- /bad-inputs -->", 1)[0]
    return [tuple(c.strip() for c in line.strip("|").split("|")) for line in table.strip().splitlines()[2:]]


def literal_parts(message: str) -> list[str]:
    quotes = re.findall(r"`([^`]+)`", message)
    parts = [p.strip() for q in quotes if q != "weights_only=False" for p in re.split(r"\b[FD]\b|'K'|…", q)]
    return [p for p in parts if len(p) > 3]


def test_every_quoted_message_is_checked_by_the_test_it_names() -> None:
    missing = []
    for kind, message, test in rows():
        text = (ROOT / test).read_text().replace("\\", "")  # regex escapes in match= patterns
        missing += [(kind, part, test) for part in literal_parts(message) if part not in text]
    assert len(rows()) >= 15 and not missing, missing
