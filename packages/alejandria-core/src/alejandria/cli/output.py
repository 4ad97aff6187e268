"""Shared CLI output helpers: JSON, one-line errors, highlighted snippets."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from alejandria.redaction import redact

#: What must not reach a terminal from archived data (titles, file names, a server's error
#: text): C0 controls but tab and newline (ESC starts the sequences that move the cursor, set
#: the window title or write to the clipboard), DEL, the C1 controls (U+009B is a one-character
#: CSI to some terminals) and the bidirectional overrides that make text read differently.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: In JSON, where C0 controls are escaped already: DEL, C1 and the bidi overrides.
_UNESCAPED_IN_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters shown as ``?``, secrets redacted."""
    return redact(_UNPRINTABLE.sub("?", text))


class SafeConsole(Console):
    """A rich console that cleans every string it renders (``print`` arguments and table
    cells alike) with ``printable``; rich's own styling is added after, so it still works."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(printable(text), **kwargs)


class PrintableLogs(logging.Filter):
    """Log lines are cleaned like everything else the CLI prints."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = printable(record.getMessage()), None
        return True


def stderr_console() -> Console:
    return SafeConsole(stderr=True, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    return SafeConsole(highlight=False, soft_wrap=True)


def echo(message: str, *, err: bool = False) -> None:
    """``click.echo`` of a cleaned line."""
    click.echo(printable(message), err=err)


def progress_bar(description: str, enabled: bool) -> Progress:
    """A transient progress bar on stderr, shown only on a terminal."""
    console = stderr_console()
    return Progress(TextColumn(f"[bold]{description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True,
                    disable=not (enabled and console.is_terminal))


def print_json(value: Any) -> None:
    """Pretty JSON whose strings cannot drive a terminal either (they can only appear inside
    strings, so escaping them keeps the JSON valid and the data intact)."""
    dumped = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    click.echo(redact(_UNESCAPED_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)))


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


__all__ = ["PrintableLogs", "echo", "fail", "highlighted", "print_json", "printable",
           "stderr_console", "stdout_console"]
