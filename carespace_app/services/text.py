"""Small text rules shared by the services."""
from __future__ import annotations


def one_line(text: str) -> str:
    """A name as one line, trimmed: line breaks, tabs and other control characters become
    spaces. A browser's one-line field can't send them, but a forged event can, and a
    name goes into email subjects and audit lines."""
    return "".join(ch if ch.isprintable() else " " for ch in (text or "")).strip()
