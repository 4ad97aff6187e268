"""The ``pdf`` settings: ``ALEJANDRIA_PDF_<OPTION>`` read when the archive opens, a sync's
``-o option=value`` validated on top (``SourceContext.settings_for``).

Pydantic only: ``plugin.py`` registers the model, and importing it must stay cheap.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from alejandria.errors import ConfigurationError
from alejandria.plugin_types import PluginSettings, SourceContext, settings_error

ENV_PREFIX = "ALEJANDRIA_PDF_"
DEFAULT_PAGES_PER_POST = 10
#: The worker that parses PDFs may use this much address space before it is given up.
DEFAULT_MAX_MEMORY_MB = 1024
#: ... and this long for one step (opening the file, or one page) without progress.
DEFAULT_TIMEOUT_S = 120.0
#: Below this the worker cannot even start Python and PDFium.
MIN_MEMORY_MB = 128


class PdfSettings(PluginSettings):
    """How PDFs are split into posts and how much a single PDF may cost to read."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True)

    #: Pages per post for a document without a usable outline.
    pages_per_post: int = DEFAULT_PAGES_PER_POST
    #: Memory (address space) of the worker process that parses PDFs. A file that needs more
    #: is reported and skipped; a genuine large book may need it raised.
    max_memory_mb: int = Field(DEFAULT_MAX_MEMORY_MB, ge=MIN_MEMORY_MB)
    #: Seconds the worker may spend opening a file, or on one page, before it is killed.
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0)

    @field_validator("pages_per_post", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if isinstance(value, bool) or number < 1:
            raise ValueError(
                f"pages_per_post must be a whole number of at least 1, not {value!r}")
        return number


def source_settings(context: SourceContext) -> PdfSettings:
    """The settings of one sync: the environment's, with its ``-o`` options on top.

    A context built without this plugin's settings (core's ``SourceContext`` made by hand)
    reads the environment here instead of failing.
    """
    if PdfSettings in context.plugin_settings:
        return context.settings_for(PdfSettings)
    try:
        return PdfSettings(**context.options)
    except ValueError as exc:
        raise ConfigurationError(
            settings_error("pdf", exc, options=context.options, env_prefix=ENV_PREFIX)
        ) from None


def environment_settings() -> PdfSettings:
    """The settings from ``ALEJANDRIA_PDF_*`` alone (the text extractor has no options)."""
    try:
        return PdfSettings()
    except ValueError as exc:
        raise ConfigurationError(
            settings_error("pdf settings", exc, env_prefix=ENV_PREFIX)) from None
