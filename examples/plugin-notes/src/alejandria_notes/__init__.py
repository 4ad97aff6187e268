"""Example Alejandria source for a folder of Markdown and text notes, one post per file.

The ``alejandria`` entry point names ``alejandria_notes.plugin``, which only registers the
source; ``alejandria_notes.source.NotesSource`` does the work.
"""

from __future__ import annotations

__version__ = "0.1.0"
