"""Reading Patreon's JSON:API documents: ``data``, ``included`` and relationships."""

from __future__ import annotations

from typing import Any

from alejandria.models import JsonDict

Resource = dict[str, Any]


class Document:
    """One response: its primary resources, the included ones by (type, id), and ``next``."""

    def __init__(self, payload: JsonDict) -> None:
        data = payload.get("data")
        if isinstance(data, list):
            self.data: list[Resource] = [item for item in data if isinstance(item, dict)]
        else:
            self.data = [data] if isinstance(data, dict) else []
        self.included: dict[tuple[str, str], Resource] = {
            (str(item.get("type")), str(item.get("id"))): item
            for item in payload.get("included") or [] if isinstance(item, dict)
        }
        links = payload.get("links")
        next_url = links.get("next") if isinstance(links, dict) else None
        self.next_url: str | None = next_url if isinstance(next_url, str) and next_url else None

    def related(self, resource: Resource, name: str) -> list[Resource]:
        """The included resources ``resource`` refers to under ``name`` (missing ones skipped)."""
        found = []
        for kind, ident in related_ids(resource, name):
            item = self.included.get((kind, ident))
            if item is not None:
                found.append(item)
        return found

    def related_one(self, resource: Resource, name: str) -> Resource | None:
        found = self.related(resource, name)
        return found[0] if found else None


def related_ids(resource: Resource, name: str) -> list[tuple[str, str]]:
    """(type, id) of each resource ``resource`` refers to under ``name``."""
    relationships = resource.get("relationships")
    relation = relationships.get(name) if isinstance(relationships, dict) else None
    data = relation.get("data") if isinstance(relation, dict) else None
    refs = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    return [(str(ref.get("type")), str(ref.get("id"))) for ref in refs
            if isinstance(ref, dict) and ref.get("id") is not None]


def attributes(resource: Resource | None) -> JsonDict:
    attrs = resource.get("attributes") if resource else None
    return attrs if isinstance(attrs, dict) else {}
