"""The query parameters of each Patreon API call, in one place.

They follow what Patreon's own site and apps request (and gallery-dl, yt-dlp and patreon-dl
copy): ``include`` names every relationship a post's files hide behind, ``fields[...]``
asks for the attributes we read, nothing more.
"""

from __future__ import annotations

API_VERSION = {"json-api-version": "1.0", "json-api-use-default-includes": "false"}

POST_INCLUDE = ",".join((
    "access_rules", "access_rules.tier", "attachments", "attachments_media", "audio", "campaign",
    "collections", "images", "media", "user", "user_defined_tags",
))
POST_FIELDS = {
    "fields[post]": ",".join((
        "comment_count", "content", "content_json_string", "current_user_can_view", "edited_at",
        "embed", "image", "min_cents_pledged_to_view", "patreon_url", "post_file",
        "post_metadata", "post_type", "published_at", "teaser_text", "title", "url",
    )),
    "fields[media]": "id,image_urls,download_url,display,metadata,file_name,mimetype,size_bytes",
    "fields[access_rule]": "access_rule_type,amount_cents",
    "fields[reward]": "title,amount_cents",
    "fields[post_tag]": "tag_type,value",
    "fields[collection]": "title,description,num_posts,thumbnail",
    "fields[campaign]": "name,url,vanity",
    "fields[user]": "full_name,url",
}
CAMPAIGN_FIELDS = {
    "include": "creator,rewards",
    "fields[campaign]": "name,vanity,url,summary,avatar_photo_url,creation_name,is_nsfw",
    "fields[reward]": "title,amount_cents",
    "fields[user]": "full_name,url,vanity",
}
CURRENT_USER = {
    "include": "memberships,memberships.campaign,memberships.currently_entitled_tiers",
    "fields[user]": "full_name,email",
    "fields[member]": "patron_status,currently_entitled_amount_cents",
    "fields[campaign]": "name,vanity,url",
    "fields[reward]": "title,amount_cents",
}
COMMENTS = {
    "include": "commenter",
    "fields[comment]": "body,created,is_by_creator",
    "fields[user]": "full_name",
    "page[count]": "50",
    "sort": "created",
}


def posts_listing(campaign_id: str, collection_id: str | None = None) -> dict[str, str]:
    """``/api/posts``: a campaign's posts newest first, or a collection's in its order."""
    params = {
        "include": POST_INCLUDE,
        **POST_FIELDS,
        "filter[campaign_id]": campaign_id,
        "filter[contains_exclusive_posts]": "true",
        "filter[is_draft]": "false",
        "sort": "-published_at",
        **API_VERSION,
    }
    if collection_id is not None:
        # Patreon answers 400 to a collection filter without the campaign filter.
        params["filter[collection_id]"] = collection_id
        params["sort"] = "collection_order"
    return params


def single_post() -> dict[str, str]:
    return {"include": POST_INCLUDE, **POST_FIELDS, **API_VERSION}


def campaign() -> dict[str, str]:
    return {**CAMPAIGN_FIELDS, **API_VERSION}


def current_user() -> dict[str, str]:
    return {**CURRENT_USER, **API_VERSION}


def collection() -> dict[str, str]:
    return {"fields[collection]": "title,description,num_posts,thumbnail", "include": "campaign",
            **API_VERSION}


def comments() -> dict[str, str]:
    return {**COMMENTS, **API_VERSION}
