"""The messages the pages use, found in the templates and page modules (what ``pybabel
extract -F babel.cfg`` finds), and which of them a language's catalogs lack.

``python -m alejandria_web.pages.catalogs es`` prints the missing ones as ``.po`` entries to
paste into a catalog; the tests fail while any is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from alejandria_web.pages.i18n import po_files

PACKAGE_DIR = Path(__file__).resolve().parent.parent
METHODS = [("pages/**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def used_messages() -> dict[str, tuple[str, str | None]]:
    """Every message id the app uses (a plural by its singular): where it is first used and
    its plural form."""
    found: dict[str, tuple[str, str | None]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
            str(PACKAGE_DIR), METHODS, options_map=OPTIONS):
        key = message[0] if isinstance(message, tuple) else message
        if key:
            plural = message[1] if isinstance(message, tuple) and len(message) > 1 else None
            found.setdefault(key, (filename, plural))
    return found


def translated(language: str) -> set[str]:
    done: set[str] = set()
    for path in po_files(language):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id and message.string and not message.fuzzy:
                    key = str(message.id[0] if isinstance(message.id, tuple) else message.id)
                    strings = message.string if isinstance(message.string, tuple) \
                        else (message.string,)
                    if all(strings):
                        done.add(key)
    return done


def missing(language: str) -> dict[str, tuple[str, str | None]]:
    have = translated(language)
    return {key: where for key, where in used_messages().items() if key not in have}


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(argv: list[str]) -> int:
    language = argv[0] if argv else "es"
    for key, (where, plural) in sorted(missing(language).items(), key=lambda item: item[1][0]):
        print(f"#: {where}\nmsgid {_quoted(key)}")
        if plural:
            print(f'msgid_plural {_quoted(plural)}\nmsgstr[0] ""\nmsgstr[1] ""\n')
        else:
            print('msgstr ""\n')
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
