"""The search evaluation set: fictional creators' posts, user queries and graded judgments.

``load_corpus()`` and ``load_queries()`` read ``corpus.jsonl`` and ``queries.jsonl`` beside this
file; ``check()`` validates them, including the rule that a paraphrase query shares no content
word with the posts judged relevant to it. Run ``python bench/search_eval/corpus.py`` for counts
and the check.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

HERE = Path(__file__).resolve().parent
CORPUS_PATH = HERE / "corpus.jsonl"
QUERIES_PATH = HERE / "queries.jsonl"

Language = Literal["es", "en"]
Kind = Literal["paraphrase", "keyword", "transcript", "cross-lingual"]
LANGUAGES: tuple[str, ...] = get_args(Language)
KINDS: tuple[str, ...] = get_args(Kind)

MIN_POSTS = 300
MIN_QUERIES = 60
MIN_TRANSCRIPTS = 50


class EvalDataError(ValueError):
    """The evaluation files are malformed or break one of the set's rules (one line each)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Segment:
    """One timed stretch of an episode's transcript, in seconds from the start."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class EvalPost:
    """A post as a creator published it; ``transcript`` is set for audio and video episodes."""

    id: str
    creator: str
    language: Language
    title: str
    text: str
    tags: tuple[str, ...]
    transcript: tuple[Segment, ...] | None


@dataclass(frozen=True)
class ExpectedSegment:
    """For a transcript query: the segment (post and start time) holding the answer."""

    post: str
    start: float


@dataclass(frozen=True)
class EvalQuery:
    """A query as a user would type it, with graded judgments: 2 = what they want, 1 = partly."""

    id: str
    query: str
    language: Language
    relevant: Mapping[str, int]
    kind: Kind
    segment: ExpectedSegment | None = None


def _rows(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield number, cast(dict[str, Any], json.loads(line))


def _language(value: object, where: str) -> Language:
    if value not in LANGUAGES:
        raise EvalDataError([f"{where}: language {value!r} is not one of {LANGUAGES}"])
    return cast(Language, value)


def load_corpus(path: Path | str | None = None) -> list[EvalPost]:
    """Read the posts of ``corpus.jsonl`` (or ``path``), in file order."""
    path = Path(path) if path is not None else CORPUS_PATH
    posts = []
    for number, row in _rows(path):
        where = f"{path.name}:{number}"
        transcript = row.get("transcript")
        posts.append(
            EvalPost(
                id=str(row["id"]),
                creator=str(row["creator"]),
                language=_language(row["language"], where),
                title=str(row["title"]),
                text=str(row["text"]),
                tags=tuple(str(tag) for tag in row.get("tags", [])),
                transcript=None
                if transcript is None
                else tuple(
                    Segment(float(s["start"]), float(s["end"]), str(s["text"])) for s in transcript
                ),
            )
        )
    return posts


def load_queries(path: Path | str | None = None) -> list[EvalQuery]:
    """Read the queries and judgments of ``queries.jsonl`` (or ``path``), in file order."""
    path = Path(path) if path is not None else QUERIES_PATH
    queries = []
    for number, row in _rows(path):
        where = f"{path.name}:{number}"
        if row["kind"] not in KINDS:
            raise EvalDataError([f"{where}: kind {row['kind']!r} is not one of {KINDS}"])
        segment = row.get("segment")
        queries.append(
            EvalQuery(
                id=str(row["id"]),
                query=str(row["query"]),
                language=_language(row["language"], where),
                relevant={str(post): int(grade) for post, grade in row["relevant"].items()},
                kind=cast(Kind, row["kind"]),
                segment=None
                if segment is None
                else ExpectedSegment(str(segment["post"]), float(segment["start"])),
            )
        )
    return queries


# --- The "no shared content words" rule for paraphrase queries --------------------------------

# Short, hand-written lists of function words; the same set serves both languages.
_WORDS_EN = """
    a about above after again against all also am an and any anyone anything are as at be because
    been before being below between both but by can could did do does doing done down during each
    every everyone everything few for from further get got had has have having he her here hers
    herself him himself his how i if in into is it its itself just many me more most much my myself
    no nor not now of off on once one ones only or other our ours out over own really same she
    should so some someone something still such than that the their theirs them then there these
    they thing things this those through to too under until up very was way we were what when where
    which while who whom why will with would you your yours yourself
"""
_WORDS_ES = """
    a al algo algun alguna algunas alguno algunos ante antes aqui asi aun bien cada como con contra
    cosa cosas cual cuales cuando de del desde donde dos el ella ellas ello ellos en entre era eran
    es esa esas ese eso esos esta estaba estado estan estar estas este esto estos fue fueron ha
    habia hace hacer hago han hasta hay he la las le les lo los mas me mi mis mismo mucha muchas
    mucho muchos muy nada ni no nos nosotros o otra otras otro otros para pero poco por porque
    puede pueden puedo que quien se sea ser si sin sobre solo son su sus tambien te tener tengo
    tiene tienen toda todas todo todos tu tus un una uno unos unas usted vez y ya yo
"""
STOPWORDS = frozenset(_WORDS_EN.split()) | frozenset(_WORDS_ES.split())
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lowercase and strip accents: ``"Canción"`` becomes ``"cancion"``."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def content_stems(text: str) -> set[str]:
    """The crude stems (first five letters) of the non-stopword words of ``text``."""
    return {
        word[:5] for word in _WORD.findall(fold(text)) if len(word) > 1 and word not in STOPWORDS
    }


@dataclass(frozen=True)
class SharedWords:
    """A paraphrase query that shares content stems with a post judged relevant to it."""

    query: str
    post: str
    stems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.query} shares {', '.join(self.stems)} with {self.post}"


def shared_words(posts: Iterable[EvalPost], queries: Iterable[EvalQuery]) -> list[SharedWords]:
    """Paraphrase queries whose words (stemmed) appear in a relevant post's title or text."""
    by_id = {post.id: post for post in posts}
    found = []
    for query in queries:
        if query.kind != "paraphrase":
            continue
        asked = content_stems(query.query)
        for post_id in query.relevant:
            post = by_id.get(post_id)
            if post is None:
                continue
            common = asked & content_stems(f"{post.title}\n{post.text}")
            if common:
                found.append(SharedWords(query.id, post_id, tuple(sorted(common))))
    return found


# --- Validation --------------------------------------------------------------------------------


def problems(posts: list[EvalPost], queries: list[EvalQuery]) -> list[str]:
    """Every rule of the set that ``posts`` and ``queries`` break, one readable line each."""
    found: list[str] = []
    for name, ids in (("post", [p.id for p in posts]), ("query", [q.id for q in queries])):
        found += [f"duplicate {name} id {i}" for i, n in Counter(ids).items() if n > 1]
    by_id = {post.id: post for post in posts}
    transcripts = [post for post in posts if post.transcript is not None]
    if len(posts) < MIN_POSTS:
        found.append(f"{len(posts)} posts, at least {MIN_POSTS} needed")
    if len(queries) < MIN_QUERIES:
        found.append(f"{len(queries)} queries, at least {MIN_QUERIES} needed")
    if len(transcripts) < MIN_TRANSCRIPTS:
        found.append(f"{len(transcripts)} transcripts, at least {MIN_TRANSCRIPTS} needed")
    for post in posts:
        if not post.title.strip() or not post.text.strip():
            found.append(f"{post.id}: empty title or text")
        segments = post.transcript or ()
        if post.transcript is not None and not 3 <= len(segments) <= 20:
            found.append(f"{post.id}: {len(segments)} transcript segments, 3 to 20 expected")
        for before, after in itertools.pairwise(segments):
            if not before.start < before.end <= after.start:
                found.append(f"{post.id}: segments out of order at {before.start}")
    for query in queries:
        if not 1 <= len(query.relevant) <= 4:
            found.append(f"{query.id}: {len(query.relevant)} relevant posts, 1 to 4 expected")
        for post_id, grade in query.relevant.items():
            if post_id not in by_id:
                found.append(f"{query.id}: judged post {post_id} is not in the corpus")
            if grade not in (1, 2):
                found.append(f"{query.id}: grade {grade} for {post_id}, 1 or 2 expected")
            crosses = post_id in by_id and by_id[post_id].language != query.language
            if post_id in by_id and crosses != (query.kind == "cross-lingual"):
                wanted = "another language" if query.kind == "cross-lingual" else "its language"
                found.append(f"{query.id}: judged post {post_id} should be in {wanted}")
        if 2 not in query.relevant.values():
            found.append(f"{query.id}: no post judged 2")
        if (query.kind == "transcript") != (query.segment is not None):
            found.append(f"{query.id}: a segment is expected exactly for transcript queries")
        if query.segment is not None:
            episode = by_id.get(query.segment.post)
            starts = [s.start for s in (episode.transcript or ())] if episode else []
            if query.relevant.get(query.segment.post) != 2 or query.segment.start not in starts:
                found.append(f"{query.id}: expected segment is not a segment of a post judged 2")
    found += [f"paraphrase rule: {violation}" for violation in shared_words(posts, queries)]
    return found


def check(posts: list[EvalPost] | None = None, queries: list[EvalQuery] | None = None) -> None:
    """Raise ``EvalDataError`` listing every problem; the files beside this module by default."""
    found = problems(
        load_corpus() if posts is None else posts, load_queries() if queries is None else queries
    )
    if found:
        raise EvalDataError(found)


def main() -> int:
    """Print counts per language and kind, then run ``check()``; 1 when it fails."""
    posts, queries = load_corpus(), load_queries()
    long_posts = sum(len(post.text.split()) > 300 for post in posts)
    print(f"{len(posts)} posts by {len({p.creator for p in posts})} creators")
    print(f"  per language: {dict(sorted(Counter(p.language for p in posts).items()))}")
    print(f"  with a transcript: {sum(p.transcript is not None for p in posts)}")
    print(f"  over 300 words: {long_posts}")
    print(f"{len(queries)} queries")
    print(f"  per language: {dict(sorted(Counter(q.language for q in queries).items()))}")
    print(f"  per kind: {dict(sorted(Counter(q.kind for q in queries).items()))}")
    print(f"  judgments: {sum(len(q.relevant) for q in queries)}")
    try:
        check(posts, queries)
    except EvalDataError as error:
        print(f"check failed, {len(error.problems)} problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print("check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
