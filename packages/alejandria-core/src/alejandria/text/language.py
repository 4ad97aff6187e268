"""Which text-search configuration a text is in, so each chunk is stemmed in its own language.

Archives mix languages (a Spanish book next to English posts). Each chunk stores its
``ts_config``; queries are run in every configured language at once. Detection counts common
function words: cheap, dependency-free and reliable on paragraphs (not on three-word titles,
where the installation's first language is used).
"""

from __future__ import annotations

import re
from collections import Counter

from alejandria.text.accents import fold_accents

#: ISO 639-1 codes (and common tags) to Postgres text-search configurations.
ISO_CODES = {
    "es": "spanish", "en": "english", "pt": "portuguese", "fr": "french", "de": "german",
    "it": "italian", "ca": "catalan", "nl": "dutch",
}

_STOPWORDS = {
    "spanish": "el la los las de del que y en un una por con para es no se su al lo como mas "
               "pero sus le ya o este esta porque muy sin sobre tambien me hasta donde cuando",
    "english": "the of and to in is that it for was on are as with his they be at this have "
               "from or had by but not what all were we when your can which their there",
    "portuguese": "o a os as de do da dos das que e em um uma para com nao se por mais como "
                  "mas ao ele ela seu sua ou quando muito nos ja eu tambem so pelo pela",
    "french": "le la les de des du et en un une est que qui dans pour pas sur au avec ce il "
              "elle ne se plus par mais ou nous vous leur sont cette aux",
    "german": "der die das und ist nicht ein eine zu den von mit sich des auf fur im dem "
              "auch es an werden aus er hat dass sie nach wird bei einer um",
    "italian": "il lo la i gli le di del della che e un una per non con sono su da come ma "
               "anche se nel alla questo questa ha piu molto",
    "catalan": "el la els les de del que i en un una per amb no es al com mes pero seu seva "
               "aquest aquesta tambe molt quan",
    "dutch": "de het een en van in is dat op te zijn met voor niet aan er ook als bij door "
             "maar om dan zijn haar wordt",
}
STOPWORDS = {language: frozenset(words.split()) for language, words in _STOPWORDS.items()}
#: Each function word and the languages it belongs to: one lookup per distinct word of a text
#: instead of one per word and candidate language.
_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _language, _words in STOPWORDS.items():
    for _word in _words:
        _LANGUAGES_OF[_word] = (*_LANGUAGES_OF.get(_word, ()), _language)

_WORD = re.compile(r"[a-z]+")
SAMPLE_CHARS = 4000
MIN_HITS = 3


def config_for(value: str | None) -> str | None:
    """``"es"``, ``"es-ES"`` or ``"spanish"`` → ``"spanish"``; unknown values → None."""
    if not value:
        return None
    value = value.strip().lower().replace("_", "-")
    if value in STOPWORDS or value == "simple":
        return value
    return ISO_CODES.get(value.split("-", 1)[0])


def detect_language(text: str, candidates: list[str]) -> str:
    """The candidate whose function words are most frequent in ``text``; else the first one."""
    counts = dict.fromkeys(candidates, 0)
    for word, times in Counter(_WORD.findall(fold_accents(text[:SAMPLE_CHARS]).lower())).items():
        for language in _LANGUAGES_OF.get(word, ()):
            if language in counts:
                counts[language] += times
    best = max(candidates, key=lambda language: counts[language])
    if counts[best] < MIN_HITS or counts[best] == counts[candidates[0]]:
        return candidates[0]
    return best
