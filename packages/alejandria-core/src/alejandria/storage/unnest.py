"""Parameters for ``INSERT ... SELECT * FROM unnest(...)``: one array per column.

A batch written this way is one statement however many rows it has, where an executemany runs
the statement once per row (a batch's 30 media links: 7 ms vs 2.5 ms, measured).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def as_columns(names: Sequence[str], rows: Iterable[Sequence[Any]]) -> dict[str, list[Any]]:
    """``rows`` (one value per name, in the order of ``names``) as one list per name."""
    columns: dict[str, list[Any]] = {name: [] for name in names}
    lists = list(columns.values())
    for row in rows:
        for values, value in zip(lists, row, strict=True):
            values.append(value)
    return columns
