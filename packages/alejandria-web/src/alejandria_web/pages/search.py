"""The search page: one box, a mode (auto, full-text, semantic, transcripts, hybrid), the
catalogue's filters and, for users with personal data, their own (my list, my status, has
my note, has my highlights).

Hits show core's snippet with its matched words in ``<mark>``: the snippet is plain text with
``(start, end)`` offsets (``SearchHit.highlights``); every piece is escaped here and only the
marks are markup. A transcript hit links to the post's player at its moment
(``/posts/ID?t=SECONDS&media=MEDIA``), a PDF hit to its page (``#page-N``). The results are
the ``#search-results`` part htmx swaps when the form changes; the same URL is a plain GET.
A mode that cannot run here (semantic search without pgvector or an embedder) is said in
the page, with core's reason, not as an error page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Response
from markupsafe import Markup, escape

from alejandria.errors import InvalidRequest, SearchUnavailable
from alejandria.library.posts import MEDIA_KINDS
from alejandria.models import SearchHit
from alejandria_web.pages.browse import (
    date_param,
    filter_options,
    int_param,
    page_url,
    start_of,
    text_param,
)
from alejandria_web.pages.common import PAGE, AnyRequest, actor, archive, wants_part
from alejandria_web.pages.i18n import gettext as _
from alejandria_web.pages.render import can, render
from alejandria_web.security.access import Access
from alejandria_web.security.identity import identify

MODES = ("auto", "fulltext", "semantic", "transcripts", "hybrid")
#: Hits on one page of results.
PAGE_SIZE = 20
#: The deepest page offered (the API's limit too).
MAX_PAGE = 500
#: The longest query read (the API's limit).
MAX_QUERY = 1000
#: ``has_note`` / ``highlighted``: any, with, without.
YES_NO = {"yes": True, "no": False}


def highlighted(snippet: str, spans: tuple[tuple[int, int], ...]) -> Markup:
    """``snippet`` escaped, its ``spans`` (character offsets) wrapped in ``<mark>``."""
    out: list[str] = []
    cursor = 0
    for start, end in sorted(spans):
        start, end = max(start, cursor), min(end, len(snippet))
        if end <= start:
            continue
        out.append(str(escape(snippet[cursor:start])))
        out.append(f"<mark>{escape(snippet[start:end])}</mark>")
        cursor = end
    out.append(str(escape(snippet[cursor:])))
    return Markup("".join(out))


def seconds(value: float) -> str:
    """A time for ``?t=``: ``187``, ``1.5``."""
    return f"{round(value, 2):g}"


@dataclass(frozen=True)
class Hit:
    """A search hit as the page shows it: where it links and what kind of place it is."""

    hit: SearchHit
    href: str
    kind: str  # "transcript", "page" or "text"
    snippet: Markup


def hit_view(hit: SearchHit) -> Hit:
    snippet = highlighted(hit.snippet, hit.highlights)
    if hit.media_id is not None and hit.start_s is not None:
        return Hit(hit, f"/posts/{hit.post_id}?t={seconds(hit.start_s)}&media={hit.media_id}",
                   "transcript", snippet)
    if hit.page is not None:
        return Hit(hit, f"/posts/{hit.post_id}#page-{hit.page}", "page", snippet)
    return Hit(hit, f"/posts/{hit.post_id}", "text", snippet)


@dataclass(frozen=True)
class SearchForm:
    """The query, mode and filters as the URL gives them (empty or malformed: not set)."""

    q: str
    mode: str
    source: str | None
    creator: int | None
    collection: int | None
    after: Any
    before: Any
    media_kind: str | None
    in_list: int | None
    status: str | None
    has_note: str | None
    highlighted: str | None
    page: int

    @classmethod
    def read(cls, query: Mapping[str, Any], *, personal: bool) -> SearchForm:
        raw = query.get("q")
        mode = text_param(query, "mode")
        media_kind = text_param(query, "media_kind")
        page = int_param(query, "page") or 1
        return cls(
            q=raw.strip()[:MAX_QUERY] if isinstance(raw, str) else "",
            mode=mode if mode in MODES else "auto", source=text_param(query, "source"),
            creator=int_param(query, "creator"), collection=int_param(query, "collection"),
            after=date_param(query, "published_after"),
            before=date_param(query, "published_before"),
            media_kind=media_kind if media_kind in MEDIA_KINDS else None,
            in_list=int_param(query, "in_list") if personal else None,
            status=text_param(query, "status") if personal else None,
            has_note=_yes_no(query, "has_note") if personal else None,
            highlighted=_yes_no(query, "highlighted") if personal else None,
            page=min(page, MAX_PAGE))

    def params(self, **changed: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "q": self.q, "mode": None if self.mode == "auto" else self.mode,
            "source": self.source, "creator": self.creator, "collection": self.collection,
            "published_after": self.after.isoformat() if self.after else None,
            "published_before": self.before.isoformat() if self.before else None,
            "media_kind": self.media_kind, "in_list": self.in_list, "status": self.status,
            "has_note": self.has_note, "highlighted": self.highlighted,
            "page": None if self.page == 1 else self.page, **changed}
        return {key: str(value) for key, value in values.items() if value not in (None, "")}

    @property
    def filtered(self) -> int:
        """How many filters are set."""
        return len([key for key in self.params() if key not in ("q", "mode", "page")])

    def search_args(self) -> dict[str, Any]:
        """The keyword arguments of ``archive.search`` (the page's offset aside)."""
        from datetime import timedelta

        return {"mode": self.mode, "source": self.source,
                "creator": str(self.creator) if self.creator else None,
                "collection": str(self.collection) if self.collection else None,
                "published_after": start_of(self.after),
                "published_before": start_of(self.before + timedelta(days=1)
                                             if self.before else None),
                "media_kind": self.media_kind,
                "in_list": str(self.in_list) if self.in_list else None,
                "status": self.status,
                "has_note": YES_NO.get(self.has_note or ""),
                "highlighted": YES_NO.get(self.highlighted or "")}


def _yes_no(query: Mapping[str, Any], name: str) -> str | None:
    value = text_param(query, name)
    return value if value in YES_NO else None


def run(request: AnyRequest, form: SearchForm,
        lists: list[Any]) -> tuple[list[Hit], bool, str | None]:
    """The page of hits, whether there are more, and why none could be found (a mode that
    cannot run here, a list that is not the user's), or None."""
    if not form.q:
        return [], False, None
    if form.in_list is not None and all(item.id != form.in_list for item in lists):
        return [], False, _("That list is not one of yours: choose one of your lists.")
    try:
        hits = archive(request).search(form.q, **form.search_args(), limit=PAGE_SIZE + 1,
                                       offset=(form.page - 1) * PAGE_SIZE,
                                       actor=actor(request))
    except (SearchUnavailable, InvalidRequest, ValueError) as error:
        return [], False, str(error)
    return [hit_view(hit) for hit in hits[:PAGE_SIZE]], len(hits) > PAGE_SIZE, None


@PAGE("/search", Access.READ)
def search_page(request: AnyRequest) -> Response[Any]:
    personal = can(identify(request), Access.OWN_DATA)
    the_archive = archive(request)
    who = actor(request)
    mine = the_archive.personal(who) if personal else None
    lists = mine.lists.list() if mine else []
    form = SearchForm.read(request.query_params, personal=personal)
    hits, more, problem = run(request, form, lists)
    results: dict[str, Any] = {
        "form": form, "hits": hits, "problem": problem,
        "next_url": page_url("/search", form.params(page=form.page + 1)) if more else None,
        "previous_url": page_url("/search", form.params(page=form.page - 1))
        if form.page > 1 else None,
        "first_number": (form.page - 1) * PAGE_SIZE + 1,
    }
    if wants_part(request, "search-results"):
        return render(request, "search/_results.html", **results)
    options = filter_options(the_archive, who, source=form.source,
                             collection=form.collection, chosen_creator=form.creator)
    statuses = mine.status.labels() if mine else []
    return render(request, "search/search.html", header_query=form.q, options=options,
                  lists=lists, statuses=statuses, modes=MODES, **results)


ROUTES = [search_page]
