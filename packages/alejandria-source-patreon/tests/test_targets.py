"""Naming creators: URLs, vanity names, ids, ``supported``; campaign ids found several ways."""

from __future__ import annotations

import pytest

from alejandria.errors import ItemRejected
from alejandria_source_patreon.targets import STRATEGIES, campaign_id_from_page, parse_target
from alejandria_source_patreon.testing import PatreonFixture, creator_page, demo_campaign


@pytest.mark.parametrize(("raw", "kind", "value"), [
    ("supported", "supported", ""),
    ("12345", "campaign", "12345"),
    ("id:12345", "campaign", "12345"),
    ("artista", "vanity", "artista"),
    ("https://www.patreon.com/artista", "vanity", "artista"),
    ("https://www.patreon.com/artista/posts?filters[tag]=x", "vanity", "artista"),
    ("patreon.com/c/artista", "vanity", "artista"),
    ("https://www.patreon.com/cw/artista/about", "vanity", "artista"),
    ("https://www.patreon.com/m/4767637/posts", "campaign", "4767637"),
    ("https://www.patreon.com/api/campaigns/4243769", "campaign", "4243769"),
    ("https://www.patreon.com/artista?c=777", "campaign", "777"),
    ("https://www.patreon.com/user?u=881", "user", "881"),
    ("https://www.patreon.com/collection/952003?view=condensed", "collection", "952003"),
])
def test_targets_are_classified(raw: str, kind: str, value: str) -> None:
    ref = parse_target(raw)
    assert (ref.kind, ref.value) == (kind, value)


@pytest.mark.parametrize("raw", ["https://www.patreon.com/home", "https://www.patreon.com/",
                                 "two words", "https://www.patreon.com/posts/x-123"])
def test_what_is_not_a_creator_is_rejected(raw: str) -> None:
    with pytest.raises(ItemRejected):
        parse_target(raw)


@pytest.mark.parametrize("style", ["next_data", "next_f", "bootstrap", "api_link",
                                   "media_path"])
def test_each_strategy_finds_the_campaign_id_on_its_own(style: str) -> None:
    page = creator_page(demo_campaign(campaign_id="8123", page_style=style))
    assert campaign_id_from_page(page) == ("8123", {"next_f": "bootstrap",
                                                    "api_link": "api_links",
                                                    "media_path": "media_paths"}.get(style,
                                                                                     style))


def test_every_strategy_is_covered() -> None:
    assert [name for name, _ in STRATEGIES] == ["next_data", "bootstrap", "api_links",
                                                "media_paths"]


@pytest.mark.parametrize("style", ["next_data", "next_f", "bootstrap", "api_link",
                                   "media_path"])
@pytest.mark.parametrize("form", ["{vanity}", "{base}/{vanity}", "{base}/c/{vanity}",
                                  "{base}/cw/{vanity}/posts"])
def test_a_creator_the_user_does_not_support_is_found_from_the_page(
        make_source, site: PatreonFixture, style: str, form: str) -> None:
    stranger = site.add_campaign(demo_campaign(campaign_id="6001", vanity="Ajena", posts=1,
                                               page_style=style))
    stranger.patron_status = None
    raw = form.format(base=site.base_url, vanity="ajena")

    (target,) = make_source().resolve([raw])

    assert target.scope == "campaign:6001" and target.metadata["campaign_id"] == "6001"


def test_a_supported_creator_is_found_without_loading_a_page(make_source,
                                                            site: PatreonFixture) -> None:
    (target,) = make_source().resolve(["https://www.patreon.com/c/ARTISTA"])

    assert (target.scope, target.label) == ("campaign:5001", "Artista de Prueba")
    assert not any(path.endswith("artista") for path in site.hits)


def test_a_creator_that_cannot_be_found_fails_alone(archive, site: PatreonFixture) -> None:
    hidden = site.add_campaign(demo_campaign(campaign_id="6001", vanity="oculta", posts=1,
                                             page_style="none"))
    hidden.patron_status = None

    report = archive.sync("patreon", "oculta", "nadie", "artista")

    assert report.targets == 3 and report.posts_written == 11
    assert [e.subject for e in report.errors] == ["oculta", "nadie"]
    assert "give the numeric campaign id" in report.errors[0].message


def test_the_same_creator_named_twice_is_synced_once(make_source, site: PatreonFixture) -> None:
    targets = list(make_source().resolve(["artista", "5001", f"{site.base_url}/c/artista"]))
    assert [t.scope for t in targets] == ["campaign:5001"]


def test_filters_give_a_scope_of_their_own(make_source) -> None:
    (plain,) = make_source().resolve(["5001"])
    (filtered,) = make_source(since="2024-02-01").resolve(["5001"])
    assert plain.scope == "campaign:5001"
    assert filtered.scope == "campaign:5001?since=2024-02-01T00:00:00+00:00"
