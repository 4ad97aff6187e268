"""The pages' languages: English (the msgids) and Spanish, from gettext catalogs.

Catalogs are the ``.po`` files under ``locales/<lang>/LC_MESSAGES/`` (one per area of the
app, merged), read with Babel when the app starts: no compile step a user must run. The
language of a page is the user's preference, else the browser's ``Accept-Language``, else
English. Templates call ``_()`` / ``ngettext()``; Python code that renders calls ``gettext``
here, both reading the language set for the render in a context variable.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from babel.support import NullTranslations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LANGUAGE = "en"
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}

_current: ContextVar[str] = ContextVar("alejandria_language", default=DEFAULT_LANGUAGE)


class _Catalog(NullTranslations):
    """Messages of one language, merged from every ``.po`` file of its folder."""

    def __init__(self, messages: dict[str, str], plurals: dict[str, tuple[str, ...]]) -> None:
        super().__init__()
        self.messages = messages
        self.plurals = plurals

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self.plurals.get(singular)
        if not forms:
            return singular if n == 1 else plural
        # English and Spanish: one form for 1, another for the rest
        return forms[0 if n == 1 else min(1, len(forms) - 1)] or (singular if n == 1 else plural)


def po_files(language: str, extra_dirs: Iterable[Path] = ()) -> list[Path]:
    folders = [LOCALES_DIR, *extra_dirs]
    return sorted(path for folder in folders
                  for path in (folder / language / "LC_MESSAGES").glob("*.po"))


@cache
def catalog(language: str) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for path in po_files(language):
        with path.open("rb") as handle:
            parsed = read_po(handle, locale=language)
        for message in parsed:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple):
                forms = tuple(message.string) if isinstance(message.string, tuple) else ()
                if any(forms):
                    plurals[message.id[0]] = forms
            elif isinstance(message.string, str) and message.string:
                messages[str(message.id)] = message.string
    return _Catalog(messages, plurals)


def set_language(language: str) -> None:
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return catalog(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(_current.get()).ngettext(singular, plural, n)


def choose_language(preference: str | None, accept_language: str | None) -> str:
    """The user's preference when set, else the first language of ``Accept-Language`` we
    have (by its q weight), else English."""
    if preference in LANGUAGES:
        return str(preference)
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and weight > 0:
            ranked.append((-weight, index, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
