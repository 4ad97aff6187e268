"""What a sync remembers of each purchase (the target's cursor, ``{"purchases": {id: ...}}``):
the files its download page listed (with their names, sizes and folders), the files that have
since left it (archived still, marked gone upstream, and since when) and the update posts
already archived, whose pages are then not read again.

An earlier version kept only the listed file ids (``{id: [file ids]}``): read as files with
no facts, which the next sync fills in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alejandria.models import JsonDict


@dataclass
class PurchaseState:
    #: File id → its facts (``file_id``, ``name``, ``extension``, ``size``, ``folder``).
    files: dict[str, JsonDict] = field(default_factory=dict)
    #: File id → its last facts plus ``gone_since`` (a date): no longer on the page.
    gone: dict[str, JsonDict] = field(default_factory=dict)
    #: Update post ids archived.
    updates: list[str] = field(default_factory=list)

    def as_json(self) -> JsonDict:
        return {"files": self.files, "gone": self.gone, "updates": sorted(self.updates)}


def load(cursor: JsonDict | None) -> dict[str, PurchaseState]:
    raw = (cursor or {}).get("purchases")
    states: dict[str, PurchaseState] = {}
    for purchase_id, value in (raw.items() if isinstance(raw, dict) else []):
        if isinstance(value, list):  # the first version: listed file ids only
            states[str(purchase_id)] = PurchaseState(
                files={str(i): {"file_id": str(i)} for i in value})
        elif isinstance(value, dict):
            states[str(purchase_id)] = PurchaseState(
                files=_facts(value.get("files")), gone=_facts(value.get("gone")),
                updates=[str(i) for i in value.get("updates") or [] if i])
    return states


def dump(states: dict[str, PurchaseState]) -> JsonDict:
    return {"purchases": {pid: state.as_json() for pid, state in sorted(states.items())}}


def _facts(value: Any) -> dict[str, JsonDict]:
    if not isinstance(value, dict):
        return {}
    return {str(k): dict(v) for k, v in value.items() if isinstance(v, dict)}
