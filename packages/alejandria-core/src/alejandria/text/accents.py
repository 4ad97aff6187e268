"""Accent-insensitive full-text helpers shared by indexing and querying.

pgserver's Postgres has no ``unaccent`` extension, so accents are folded here, in Python, with a
one-to-one character mapping: a folded string has the same length as the original, which lets
``restore_accents`` put the user's original spelling back into ``ts_headline`` snippets that
Postgres computed over folded text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Markers ts_headline puts around matches: private-use characters, never whitespace.
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_STOP = "\ue001"
FRAGMENT_DELIMITER = " … "


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, int]:
    """Map each accented Latin letter to its base letter (é→e, ñ→n, Å→A), one char each."""
    table: dict[int, int] = {}
    for code in range(0x00C0, 0x0250):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            table[code] = ord(base)
    # Letters Unicode does not decompose, folded as unaccent folds them (still one to one).
    table.update({ord(a): ord(b) for a, b in zip("ŁłØøĐđĦħı", "LlOoDdHhi", strict=True)})
    return dict(sorted(table.items()))


#: Runs of non-ASCII characters: only they can hold an accent.
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def fold_accents(value: str) -> str:
    """Remove diacritics from Latin letters; length is preserved.

    Only the runs of non-ASCII characters are translated: ``str.translate`` looks each
    character of a non-ASCII string up in the table one by one, 2x slower on accent-dense
    Spanish than finding the runs with a regular expression and translating those (measured;
    the fold of each post's text was 10% of a sync's writing time).
    """
    if value.isascii():
        return value
    table = _fold_table()
    return _NON_ASCII.sub(lambda run: run.group().translate(table), value)


def strip_nul(value: str) -> str:
    """Postgres text cannot hold NUL characters."""
    return value.replace("\x00", "") if "\x00" in value else value


def restore_accents(headline: str, original: str) -> str:
    """Re-apply the original spelling to a headline computed over ``fold_accents(original)``.

    Each fragment of the headline (markers removed) is located in the folded text and replaced
    with the same span of the original. Fragments that cannot be located are kept as they are.
    """
    folded = fold_accents(original)
    pieces: list[str] = []
    search_from = 0
    for fragment in headline.split(FRAGMENT_DELIMITER):
        plain = fragment.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_STOP, "")
        at = folded.find(plain, search_from) if plain else -1
        if at < 0:
            at = folded.find(plain) if plain else -1
        if at < 0:
            pieces.append(fragment)
            continue
        source = original[at : at + len(plain)]
        rebuilt: list[str] = []
        cursor = 0
        for char in fragment:
            if char in (HIGHLIGHT_START, HIGHLIGHT_STOP):
                rebuilt.append(char)
            else:
                rebuilt.append(source[cursor])
                cursor += 1
        pieces.append("".join(rebuilt))
        search_from = at + len(plain)
    return FRAGMENT_DELIMITER.join(pieces)


def render_highlights(snippet: str, start: str = "[", stop: str = "]") -> str:
    """Turn the internal highlight markers into visible ones (``**``, ``<mark>``, ...)."""
    return snippet.replace(HIGHLIGHT_START, start).replace(HIGHLIGHT_STOP, stop)


def fold_function_sql() -> str:
    """``CREATE FUNCTION alejandria_fold``: the same mapping as ``fold_accents``, in SQL.

    ``translate()`` scans its whole map for every character, so the map is split: text without
    accented letters (most English) is returned as it is, Latin-1 letters (Spanish, French, ...)
    use a 53-character map, and the long Latin Extended map runs only when such letters occur.
    The output must never change for a given input (stored vectors depend on it); a different
    mapping needs a new migration and a reindex.
    """
    table = _fold_table()
    latin1 = {k: v for k, v in table.items() if k <= 0xFF}
    extended = {k: v for k, v in table.items() if k > 0xFF}

    def translate(expression: str, mapping: dict[int, int]) -> str:
        accented = "".join(chr(code) for code in mapping)
        plain = "".join(chr(code) for code in mapping.values())
        return f"translate({expression}, '{accented}', '{plain}')"

    first, last = chr(min(table)), chr(max(table))
    ext_first, ext_last = chr(min(extended)), chr(max(extended))
    return (
        "CREATE OR REPLACE FUNCTION alejandria_fold(text) RETURNS text "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT CASE "
        f"WHEN $1 !~ '[{first}-{last}]' THEN $1 "
        f"WHEN $1 !~ '[{ext_first}-{ext_last}]' THEN {translate('$1', latin1)} "
        f"ELSE {translate(translate('$1', latin1), extended)} END $$"
    )
