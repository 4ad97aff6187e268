"""A chunk's Postgres ``search_vector`` as the tokens of the index's three fields.

The index holds exactly the lexemes Postgres computed (each chunk stemmed in its own language,
accents folded), at the same positions, so a query matches the same chunks in both backends
and only the ranking differs. The vector's weights say which field a lexeme came from:
``A`` the heading (the post's title), ``B`` the text, ``C`` the tags (``D``, unused by core,
counts as text).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

#: Field of each tsvector weight (a position without a letter is ``D``).
FIELD_OF_WEIGHT = {"A": "heading", "B": "body", "C": "tags", "D": "body"}
FIELDS = ("heading", "body", "tags")

# 'lexeme' with '' for a quote and \x for x, then :1A,5,7B (absent for a stripped vector)
_ENTRY = re.compile(r"'((?:[^'\\]|''|\\.)*)'(?::([0-9A-D,]+))?")
_POSITION = re.compile(r"(\d+)([A-D]?)")
_ESCAPE = re.compile(r"''|\\(.)")


def _unescape(lexeme: str) -> str:
    if "'" not in lexeme and "\\" not in lexeme:
        return lexeme
    return _ESCAPE.sub(lambda m: m.group(1) if m.group(1) is not None else "'", lexeme)


def parse_tsvector(vector: str) -> Iterator[tuple[str, int, str]]:
    """``(lexeme, position, weight)`` for every position of a tsvector's text form."""
    for match in _ENTRY.finditer(vector):
        lexeme = _unescape(match.group(1))
        positions = match.group(2)
        if not positions:
            yield lexeme, 1, "D"
            continue
        for position in _POSITION.finditer(positions):
            yield lexeme, int(position.group(1)), position.group(2) or "D"


def field_tokens(vector: str) -> dict[str, list[tuple[int, str]]]:
    """Each field's ``(position, lexeme)`` pairs in position order, positions counted from 0
    within the field (Postgres numbers the heading, text and tags one after the other)."""
    fields: dict[str, list[tuple[int, str]]] = {name: [] for name in FIELDS}
    for lexeme, position, weight in parse_tsvector(vector):
        fields[FIELD_OF_WEIGHT[weight]].append((position, lexeme))
    for name, tokens in fields.items():
        if tokens:
            tokens.sort()
            first = tokens[0][0]
            fields[name] = [(position - first, lexeme) for position, lexeme in tokens]
    return fields
