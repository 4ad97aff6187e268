"""Creator pages (HTML) in the generations of markup that carry a campaign id."""

from __future__ import annotations

import json

from alejandria_source_patreon.testing.fakes import FakeCampaign


def creator_page(campaign: FakeCampaign) -> str:
    """A creator page that embeds the campaign id the way ``campaign.page_style`` says."""
    cid = campaign.id
    head = f"<!DOCTYPE html><html><head><title>{campaign.name} | Patreon</title></head><body>"
    style = campaign.page_style
    if style == "next_data":
        data = {"props": {"pageProps": {"bootstrapEnvelope": {"pageBootstrap": {
            "campaign": {"data": {"id": cid, "type": "campaign"}}}}}}}
        body = (f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(data)}'
                "</script>")
    elif style == "next_f":
        chunk = json.dumps(f'1:["$","div",null,{{"value":{{"campaign":{{"data":{{"id":"{cid}",'
                           f'"type":"campaign"}}}}}}}}]')
        body = f"<script>self.__next_f.push([1,{chunk}])</script>"
    elif style == "bootstrap":
        body = ('<script>window.patreon = {"bootstrap": {"campaign": {"data": {"id": "'
                + cid + '", "type": "campaign"}}}, "apiServer": "x"};</script>')
    elif style == "api_link":
        body = f'<link rel="preload" href="/api/campaigns/{cid}?include=rewards">'
    elif style == "media_path":
        body = (f'<img src="https://c10.patreonusercontent.com/4/patreon-media/p/campaign/{cid}/'
                f'{"b" * 32}/eyJ3Ijo2MjB9/1.png?token-time=1">')
    else:
        body = "<p>This creator page hides its campaign.</p>"
    return head + body + "</body></html>"


def find_campaign_page(campaigns: dict[str, FakeCampaign], path: str) -> str:
    """The page of the creator ``path`` names (``/artista``, ``/c/artista/posts``, ``/cw/...``);
    ``KeyError`` when no campaign has that vanity."""
    segments = [s for s in path.split("/") if s]
    if segments and segments[0] in ("c", "cw"):
        segments = segments[1:]
    vanity = segments[0].casefold() if segments else ""
    campaign = next((c for c in campaigns.values() if c.vanity.casefold() == vanity), None)
    if campaign is None:
        raise KeyError(path)
    return creator_page(campaign)
