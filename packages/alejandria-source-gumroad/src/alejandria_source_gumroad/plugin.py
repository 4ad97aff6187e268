"""Registers the ``gumroad`` source and its settings. Importing this module must stay cheap:
no urllib3 or BeautifulSoup here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from alejandria import hookimpl
from alejandria.plugin_types import SettingsSpec, Source, SourceContext, SourceFlag, SourceSpec
from alejandria_source_gumroad.settings import GumroadSettings

#: What ``alejandria sync gumroad`` archives with no target: the whole purchase library.
LIBRARY = "library"


class GumroadCredentials(BaseModel):
    """What ``alejandria credentials set gumroad`` asks for (or reads from
    ``ALEJANDRIA_GUMROAD_APP_SESSION`` with ``--from-env``)."""

    model_config = ConfigDict(extra="forbid")

    app_session: SecretStr = Field(
        min_length=1,
        description="_gumroad_app_session cookie of a logged-in gumroad.com (or the whole "
                    "Cookie header)",
    )


def create_source(context: SourceContext) -> Source:
    from alejandria_source_gumroad.source import GumroadSource

    return GumroadSource(context)


@hookimpl
def register_sources() -> list[SourceSpec]:
    return [
        SourceSpec(
            name="gumroad",
            factory=create_source,
            description="Your Gumroad purchase library: products, their pages and files",
            credentials_model=GumroadCredentials,
            url_patterns=(r"https?://(app\.)?gumroad\.com/library.*",),
            default_targets=(LIBRARY,),
            flags=(SourceFlag("include-archived", "include_archived",
                              "also the purchases you archived in your Gumroad library"),),
        )
    ]


@hookimpl
def register_settings() -> list[SettingsSpec]:
    return [SettingsSpec(name="gumroad", model=GumroadSettings,
                         description="Gumroad sync options (-o key=value overrides them)")]
