"""Shared CLI output helpers: JSON, one-line errors, highlighted snippets."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def progress_bar(description: str, enabled: bool) -> Progress:
    """A transient progress bar on stderr, shown only on a terminal."""
    console = stderr_console()
    return Progress(TextColumn(f"[bold]{description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True,
                    disable=not (enabled and console.is_terminal))


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def fail(message: str, code: int = 1) -> None:
    """Print one readable error line and exit."""
    stderr_console().print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(code)


def highlighted(snippet: str, highlights: tuple[tuple[int, int], ...]) -> str:
    """Rich markup for a snippet with its highlights in bold."""
    if not highlights:
        return escape(snippet)
    pieces: list[str] = []
    cursor = 0
    for start, end in highlights:
        pieces.append(escape(snippet[cursor:start]))
        pieces.append(f"[bold yellow]{escape(snippet[start:end])}[/]")
        cursor = end
    pieces.append(escape(snippet[cursor:]))
    return "".join(pieces)


__all__ = ["fail", "highlighted", "print_json", "stderr_console", "stdout_console"]
