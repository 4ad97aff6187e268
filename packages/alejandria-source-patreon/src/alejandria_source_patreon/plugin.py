"""Registers the ``patreon`` source and its settings. Importing this module must stay cheap:
no urllib3 here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from alejandria import hookimpl
from alejandria.plugin_types import SettingsSpec, Source, SourceContext, SourceSpec
from alejandria_source_patreon.settings import PatreonSettings


class PatreonCredentials(BaseModel):
    """What ``alejandria credentials set patreon`` asks for (or reads from
    ``ALEJANDRIA_PATREON_SESSION_ID`` with ``--from-env``)."""

    model_config = ConfigDict(extra="forbid")

    session_id: SecretStr = Field(
        min_length=1,
        description="session_id cookie of a logged-in patreon.com (or the whole Cookie header)",
    )


def create_source(context: SourceContext) -> Source:
    from alejandria_source_patreon.source import PatreonSource

    return PatreonSource(context)


@hookimpl
def register_sources() -> list[SourceSpec]:
    return [
        SourceSpec(
            name="patreon",
            factory=create_source,
            description="Posts of the Patreon creators you support",
            credentials_model=PatreonCredentials,
            url_patterns=(r"https?://(www\.)?patreon\.com/.+",),
        )
    ]


@hookimpl
def register_settings() -> list[SettingsSpec]:
    return [SettingsSpec(name="patreon", model=PatreonSettings,
                         description="Patreon sync options (-o key=value overrides them)")]
