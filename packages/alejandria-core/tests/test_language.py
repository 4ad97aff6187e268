"""Language detection picks the stemming configuration for each post."""

from __future__ import annotations

import pytest

from alejandria.text.language import config_for, detect_language

CANDIDATES = ["spanish", "english"]


@pytest.mark.parametrize(("text", "expected"), [
    ("La carta natal muestra la posición de los planetas en el momento del nacimiento.",
     "spanish"),
    ("The natal chart shows where the planets were at the moment of birth, and it is "
     "read as a map.", "english"),
    ("Bread", "spanish"),  # too short to tell: the installation's first language
    ("", "spanish"),
])
def test_detects_spanish_and_english(text, expected):
    assert detect_language(text, CANDIDATES) == expected


def test_detects_among_configured_candidates_only():
    text = "Le thème natal est une carte du ciel et il est lu dans une maison."
    assert detect_language(text, ["english", "french"]) == "french"
    assert detect_language(text, CANDIDATES) == "spanish"


@pytest.mark.parametrize(("value", "expected"), [
    ("es", "spanish"), ("en-GB", "english"), ("pt_BR", "portuguese"), ("Spanish", "spanish"),
    ("xx", None), (None, None),
])
def test_config_for_language_tags(value, expected):
    assert config_for(value) == expected
