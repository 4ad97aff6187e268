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


def test_one_message_has_one_translation_across_the_catalogs() -> None:
    """The areas' catalogs are merged: a message translated two ways would read differently
    from page to page, depending on which file was read last."""
    from babel.messages.pofile import read_po

    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for path in i18n.po_files("es"):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="es"):
                if not message.id:
                    continue
                key = str(message.id if isinstance(message.id, str) else message.id[0])
                if key in seen and seen[key][1] != message.string:
                    clashes.append(f"{key!r}: {seen[key]} vs {(path.name, message.string)}")
                seen.setdefault(key, (path.name, message.string))
    assert not clashes, "\n".join(clashes)
