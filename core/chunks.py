"""Splitting text into overlapping chunks for the content store (pure)."""

import re

BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"(?<=[.!?])\s+"), re.compile(r"\s+"))


def cut_point(text: str, limit: int) -> int:
    """The last paragraph, sentence or word boundary before `limit`, else `limit`."""
    for pattern in BREAKS:
        ends = [m.end() for m in pattern.finditer(text, 0, limit) if m.end() > limit // 2]
        if ends:
            return ends[-1]
    return limit


def chunk_text(text: str, max_chars: int = 2000, overlap: int = 200) -> list[str]:
    text = text.strip()
    chunks: list[str] = []
    while text:
        if len(text) <= max_chars:
            chunks.append(text)
            break
        cut = cut_point(text, max_chars)
        chunks.append(text[:cut].strip())
        text = text[max(cut - overlap, 1) if overlap < cut else cut :].strip()
    return [chunk for chunk in chunks if chunk]
