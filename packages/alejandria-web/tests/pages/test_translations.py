"""Every message of the pages has its Spanish translation, and the catalogs parse."""

from __future__ import annotations

from alejandria_web.pages import i18n
from alejandria_web.pages.catalogs import missing, used_messages


def test_every_message_is_translated_to_spanish() -> None:
    assert len(used_messages()) > 30  # the extraction itself works
    lacking = missing("es")
    assert not lacking, ("messages without a Spanish translation (python -m "
                         "alejandria_web.pages.catalogs es prints them as .po entries): "
                         + ", ".join(sorted(lacking)))


def test_plural_forms_follow_the_number() -> None:
    i18n.set_language("es")
    try:
        assert i18n.ngettext("%(num)d image", "%(num)d images", 1) == "%(num)d imagen"
        assert i18n.ngettext("%(num)d image", "%(num)d images", 3) == "%(num)d imágenes"
    finally:
        i18n.set_language("en")
    assert i18n.ngettext("%(num)d image", "%(num)d images", 3) == "%(num)d images"


def test_language_choice() -> None:
    assert i18n.choose_language(None, "es-MX,es;q=0.9") == "es"
    assert i18n.choose_language(None, "fr;q=1, es;q=0.4, en;q=0.8") == "en"
    assert i18n.choose_language("es", "en") == "es"
    assert i18n.choose_language(None, "garbage;q=x") == "en"
