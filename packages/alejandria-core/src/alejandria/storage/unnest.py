"""Parameters for ``INSERT ... SELECT * FROM unnest(...)``: one array per column.

A batch written this way is one statement however many rows it has, where an executemany runs
the statement once per row (a batch's 30 media links: 7 ms vs 2.5 ms, measured).

The columns go to Postgres as *binary* arrays (``BinaryArray``). psycopg sends a plain list in
the text format, quoting and escaping every element with regular expressions in Python: 300
chunk texts of 2.7 KB took 58 ms to send that way and 2.8 ms as a binary array (measured). A
binary array of strings is typed ``text[]`` where the text format leaves it ``unknown``, so
the statements that take these columns cast each one (``CAST(:name AS integer[])``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import adapters
from psycopg.types.array import ListBinaryDumper


class BinaryArray(list[Any]):
    """A list psycopg sends as a binary array (registered for every connection made after
    this module is imported: it is, by the storage modules that use it)."""


adapters.register_dumper(BinaryArray, ListBinaryDumper)


def as_columns(names: Sequence[str], rows: Iterable[Sequence[Any]]) -> dict[str, list[Any]]:
    """``rows`` (one value per name, in the order of ``names``) as one binary array per
    name."""
    columns: dict[str, list[Any]] = {name: BinaryArray() for name in names}
    lists = list(columns.values())
    for row in rows:
        for values, value in zip(lists, row, strict=True):
            values.append(value)
    return columns
