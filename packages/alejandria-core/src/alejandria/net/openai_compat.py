"""What every client of an OpenAI-compatible API shares: where it is, its key, whether it can
be used, and a client built once. The key never appears in a message: ``scrub`` removes it."""

from __future__ import annotations

import importlib.util
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from alejandria.models import Availability

if TYPE_CHECKING:
    from alejandria.settings import Settings

INSTALL_HINT = "install the openai extra: pip install 'alejandria-core[openai]'"


def openai_installed() -> bool:
    return importlib.util.find_spec("openai") is not None


class OpenAICompatibleClient:
    """Base of the API transcriber and embedder (``ALEJANDRIA_OPENAI_BASE_URL``/``_API_KEY``)."""

    max_retries = 3
    timeout_s = 120.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_url = (settings.openai_base_url or "").strip()
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        """The server's host (and port), without any credentials the URL may hold."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        return f"{host}:{parts.port}" if host and parts.port else host

    def _api_key(self) -> str:
        key = self.settings.openai_api_key
        return key.get_secret_value() if key is not None else ""

    def availability(self) -> Availability:
        if not openai_installed():
            return Availability.no(INSTALL_HINT)
        if not self.base_url:
            return Availability.no(
                "set ALEJANDRIA_OPENAI_BASE_URL to an OpenAI-compatible API "
                "(e.g. https://api.openai.com/v1 or a self-hosted server)"
            )
        if urlsplit(self.base_url).scheme not in ("http", "https") or not self.host:
            return Availability.no(
                "ALEJANDRIA_OPENAI_BASE_URL must be an http(s) URL such as "
                "https://api.openai.com/v1"
            )
        if not self._api_key():
            return Availability.no("set ALEJANDRIA_OPENAI_API_KEY to the API's key")
        return Availability.yes()

    def _scrub(self, text: str) -> str:
        key = self._api_key()
        return text.replace(key, "***") if key else text

    def _get_client(self, openai: Any) -> Any:
        with self._lock:
            if self._client is None:
                self._client = openai.OpenAI(base_url=self.base_url, api_key=self._api_key(),
                                             max_retries=self.max_retries,
                                             timeout=self.timeout_s)
            return self._client
