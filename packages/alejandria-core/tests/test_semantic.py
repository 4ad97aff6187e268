"""Semantic and hybrid search with the bundled local embedder: paraphrases found where
full-text finds nothing, transcript moments with timestamps, filters, model switches, and
honest unavailability."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from alejandria.errors import SearchUnavailable
from alejandria.models import Checkpoint, CreatorIn, MediaIn, MediaKind, PostIn
from alejandria.plugin_types import TranscriptSegment
from alejandria.search.embedding.select import embedder_name
from alejandria.storage.transcripts import TranscriptStore

pytestmark = pytest.mark.usefixtures("needs_vectors")


@pytest.fixture
def needs_vectors(archive):
    if not archive.capabilities().vector_installed:
        pytest.skip("this Postgres has no pgvector")
    if embedder_name(archive.settings, archive.plugins) is None:
        pytest.skip("no local embedder installed (pip install 'alejandria-core[embed]')")


def _post(eid: str, title: str, body: str, *, creator: str = "lucia", day: int = 1,
          media: tuple[MediaIn, ...] = ()) -> PostIn:
    return PostIn(external_id=eid, creator_external_id=creator, title=title, text=body,
                  published_at=datetime(2025, 1, day, tzinfo=UTC), media=media)


POSTS = [
    _post("retro", "Mercurio retrógrado en marzo",
          "Durante tres semanas el planeta parece retroceder en el cielo; revisa contratos, "
          "evita firmar y haz copias de seguridad.", day=2),
    _post("bread", "Why my loaf collapsed",
          "An over-proofed dough loses its structure: the gluten network tears and the loaf "
          "spreads in the oven. Shorten the bulk fermentation.", creator="sam", day=3),
    _post("synth", "Patch notes: warm pads",
          "Detune two saw oscillators, open the low-pass filter slowly with a long attack "
          "envelope and add chorus.", creator="sam", day=4),
    _post("garden", "Tomates en maceta",
          "Riega por la mañana, entierra el tallo hasta las primeras hojas y usa un tutor.",
          day=5),
]


@pytest.fixture
def corpus(archive, memory_source):
    memory_source.blobs = {"ep": b"RIFF0000WAVEfake"}
    memory_source.content["t"] = [
        CreatorIn(external_id="lucia", name="Lucía"),
        CreatorIn(external_id="sam", name="Sam"),
        *POSTS,
        _post("episode", "Episodio 12", "Notas del episodio.", day=6,
              media=(MediaIn(key="ep", filename="ep12.wav", kind=MediaKind.AUDIO),)),
        Checkpoint(),
    ]
    archive.settings.process_media = False
    archive.settings.embed_after_sync = True
    report = archive.sync("memory", "t")
    assert report.ok
    assert report.chunks_embedded == 5  # embedded right after the sync
    with archive.engine.connect() as conn:
        media_id = conn.execute(text("SELECT id FROM media_files")).scalar_one()
    store = TranscriptStore(archive.engine)
    state = store.begin(media_id, "test", "scripted", "1")
    store.add_window(state, [
        TranscriptSegment(0.0, 28.0, "Bienvenidos a un nuevo episodio del podcast."),
        TranscriptSegment(28.0, 31.0, "Hoy no hablamos de astrología."),
        TranscriptSegment(31.0, 62.0, "Vamos a hablar de cómo cuidar a un perro anciano: "
                                      "paseos cortos, comida blanda y visitas al veterinario."),
    ], offset_s=0.0, progress_s=62.0, language="es", ts_config="spanish")
    store.complete(state)
    archive.embed_backfill()
    return archive


@pytest.mark.needs_model
def test_a_paraphrase_is_found_where_fulltext_finds_nothing(corpus):
    query = "bread dough rose too much and went flat"
    assert [h.title for h in corpus.search(query, mode="fulltext")] == []

    hits = corpus.search(query, mode="semantic")
    assert hits[0].title == "Why my loaf collapsed"
    hybrid = corpus.search(query, mode="hybrid")
    assert hybrid[0].title == "Why my loaf collapsed"


@pytest.mark.needs_model
def test_hybrid_hits_carry_the_snippet_of_the_list_that_found_them(corpus):
    # hybrid ranks without snippets and builds them for its page only: each hit must show
    # what the list that ranked it best shows (the spoken moment, the highlighted words)
    spoken = corpus.search("caring for an old dog", mode="hybrid", limit=3)[0]
    alone = corpus.search("caring for an old dog", mode="semantic", limit=1)[0]
    assert (spoken.title, spoken.start_s, spoken.media_id) == \
        (alone.title, alone.start_s, alone.media_id)
    assert (spoken.snippet, spoken.highlights) == (alone.snippet, alone.highlights)

    keyword = corpus.search("gluten network", mode="hybrid", limit=1)[0]
    fulltext = corpus.search("gluten network", mode="fulltext", limit=1)[0]
    assert keyword.title == fulltext.title == "Why my loaf collapsed"
    assert keyword.snippet == fulltext.snippet
    assert [keyword.snippet[a:b].lower() for a, b in keyword.highlights] == ["gluten", "network"]


@pytest.mark.needs_model
def test_a_cross_lingual_query_finds_the_spanish_post(corpus):
    hits = corpus.search("when a planet seems to move backwards", mode="semantic", limit=3)
    assert hits[0].title == "Mercurio retrógrado en marzo"


@pytest.mark.needs_model
def test_a_transcript_hit_carries_the_timestamp_of_the_spoken_words(corpus):
    hit = corpus.search("caring for an old dog", mode="semantic", limit=1)[0]
    assert hit.title == "Episodio 12"
    assert hit.media_id is not None
    assert hit.start_s == 31.0
    assert "perro anciano" in hit.snippet


@pytest.mark.needs_model
def test_filters_apply_to_semantic_results(corpus):
    hits = corpus.search("how to grow vegetables", mode="semantic", creator="sam")
    assert {h.creator for h in hits} == {"Sam"}
    late = corpus.search("music", mode="semantic",
                         published_after=datetime(2025, 1, 4, tzinfo=UTC))
    assert all(h.title != "Mercurio retrógrado en marzo" for h in late)
    audio = corpus.search("perro", mode="semantic", media_kind="audio")
    assert [h.title for h in audio] == ["Episodio 12"]


@pytest.mark.needs_model
def test_auto_uses_fulltext_for_keywords_and_hybrid_for_sentences(corpus):
    assert corpus.search("tomates", mode="auto")[0].mode == "fulltext"
    assert corpus.search("what do I do about my tomato plants", mode="auto")[0].mode == "hybrid"


@pytest.mark.needs_model
def test_an_edited_post_is_re_embedded_and_a_second_backfill_is_a_no_op(corpus, memory_source):
    assert corpus.embed_backfill().chunks == 0
    memory_source.content["t"] = [
        CreatorIn(external_id="sam", name="Sam"),
        _post("synth", "Patch notes: warm pads",
              "Rewritten: record a cello, stretch it ten times and reverse it.", creator="sam",
              day=4),
        Checkpoint(),
    ]
    report = corpus.sync("memory", "t")
    assert report.chunks_embedded == 1
    assert corpus.embed_backfill().chunks == 0


@pytest.mark.needs_model
def test_a_corrected_segment_is_re_embedded(corpus):
    with corpus.engine.connect() as conn:
        segment_id = conn.execute(text(
            "SELECT id FROM transcript_segments WHERE start_s = 31.0")).scalar_one()
    TranscriptStore(corpus.engine).correct(segment_id, "Hablamos de bonsáis y cómo podarlos.")
    report = corpus.embed_backfill()
    assert report.transcripts == 1
    hit = corpus.search("pruning miniature trees", mode="semantic", limit=1)[0]
    assert hit.start_s == 31.0


@pytest.mark.needs_model
def test_switching_model_keeps_old_vectors_serving_until_backfilled(corpus, monkeypatch):
    old_model = corpus.embed_status()["model"]
    monkeypatch.setattr(corpus.settings, "embedder", "e5-small")
    # the new model has no vectors yet: the old model keeps answering
    assert corpus.embed_status()["serving_model"] == old_model
    assert corpus.search("bread dough rose too much", mode="semantic")[0].title \
        == "Why my loaf collapsed"
    report = corpus.embed_backfill()
    assert report.chunks == 5 and report.dropped_models == (old_model,)
    status = corpus.embed_status()
    assert status["serving_model"] == status["model"] != old_model
    assert corpus.search("bread dough rose too much", mode="semantic")[0].title \
        == "Why my loaf collapsed"


@pytest.mark.needs_model
def test_no_embedder_makes_semantic_and_hybrid_say_why(corpus, monkeypatch):
    monkeypatch.setattr(corpus.settings, "embedder", "none")
    for mode in ("semantic", "hybrid"):
        with pytest.raises(SearchUnavailable, match="ALEJANDRIA_EMBEDDER=none"):
            corpus.search("anything at all here", mode=mode)
    assert corpus.search("what happened to my loaf", mode="auto") is not None


def test_the_documented_example_embedder_serves_semantic_search(archive, memory_source,
                                                                register_plugin, monkeypatch):
    """A third-party embedder (the ``register_embedders`` docstring example) plugs in."""
    import textwrap

    from alejandria import hookspecs

    example = textwrap.dedent(hookspecs.register_embedders.__doc__.split("::", 1)[1])
    namespace: dict[str, object] = {}
    exec(compile(example, "<example>", "exec"), namespace)
    register_plugin(type("Example", (), {"register_embedders": staticmethod(
        namespace["register_embedders"])})(), name="vowels-example")
    monkeypatch.setattr(archive.settings, "embedder", "vowels")
    monkeypatch.setattr(archive.settings, "embed_after_sync", True)
    memory_source.content["t"] = [
        CreatorIn(external_id="c", name="C"),
        _post("a", "aaaa", "aaaa aaaa", creator="c"),
        _post("u", "uuuu", "uuuu uuuu", creator="c"),
        Checkpoint(),
    ]
    assert archive.sync("memory", "t").chunks_embedded == 2
    assert archive.embed_status()["model"] == "vowels-v1"
    assert [h.title for h in archive.search("u u u", mode="semantic")] == ["uuuu", "aaaa"]


@pytest.mark.needs_model
def test_cli_hybrid_json_finds_the_paraphrase_and_embed_commands_report(
        corpus, alejandria_database_url, tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from alejandria.cli.main import cli

    monkeypatch.setenv("ALEJANDRIA_DATABASE_URL", alejandria_database_url)
    monkeypatch.setenv("ALEJANDRIA_DATA_DIR", str(tmp_path / "cli-data"))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    hits = json.loads(run("search", "caring for an old dog", "--mode", "hybrid", "--json"))
    assert hits[0]["title"] == "Episodio 12" and hits[0]["start_s"] == 31.0
    assert hits[0]["mode"] == "hybrid"
    status = json.loads(run("embed", "status", "--json"))
    assert status["chunks_pending"] == 0 and status["chunks"] == 5
    assert status["serving_model"] == status["model"]
    report = json.loads(run("embed", "backfill", "--json"))
    assert report["chunks"] == 0 and report["windows"] == 0


@pytest.mark.needs_model
def test_the_embed_job_records_what_it_embedded(archive, memory_source):
    memory_source.content["t"] = [CreatorIn(external_id="lucia", name="Lucía"),
                                  CreatorIn(external_id="sam", name="Sam"), *POSTS,
                                  Checkpoint()]
    assert archive.sync("memory", "t").ok
    job = archive.jobs.get(archive.submit("embed"))
    assert job.status == "completed" and job.queue == "search"
    assert job.result["chunks"] == len(POSTS)
