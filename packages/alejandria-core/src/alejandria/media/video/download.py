"""Download embedded videos (YouTube, Vimeo, HLS streams, plain files) with yt-dlp.

Posts embed videos that later disappear, so the archive keeps its own copy, plus the site's
subtitles, which become transcripts at once (``media.video.subtitles``).

yt-dlp is an optional extra (``pip install 'alejandria-core[video]'``) and is imported only when a
download runs. Its errors are mapped to the errors the sync understands: ``RateLimited`` (retry
later), ``ItemRejected`` (this video is gone or closed to us; the rest of the sync goes on) and
``MediaError`` (anything else). Messages never carry headers, cookies or signed-URL tokens.
"""

from __future__ import annotations

import importlib
import logging
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from alejandria.errors import AlejandriaError, ItemRejected, MediaError, RateLimited
from alejandria.net.backoff import retry_after

log = logging.getLogger(__name__)

YT_DLP_MISSING = "video download needs yt-dlp: pip install 'alejandria-core[video]'"

#: The keys of yt-dlp's info dict that ``DownloadedVideo.info`` keeps (JSON-safe scalars only).
INFO_KEYS = (
    "id",
    "title",
    "uploader",
    "duration",
    "webpage_url",
    "extractor",
    "upload_date",
    "description",
)

InfoValue = str | int | float | None


@dataclass(frozen=True)
class DownloadedVideo:
    """A downloaded video file, a JSON-safe subset of its metadata and its subtitle files."""

    path: Path
    info: dict[str, InfoValue] = field(default_factory=dict)
    #: Subtitle files by language code (``"es"``, ``"en"``, ...), usually WebVTT.
    subtitles: dict[str, Path] = field(default_factory=dict)


# --- downloading ----------------------------------------------------------------------------


def download_video(
    url: str,
    workdir: Path,
    *,
    subtitle_languages: Sequence[str] = ("es", "en"),
    referer: str | None = None,
    max_bytes: int | None = None,
    rate_limit_bytes: int | None = None,
) -> DownloadedVideo:
    """Download the video at ``url`` (and its subtitles) into ``workdir``.

    ``workdir`` should be a directory of its own (a temporary one): the file is named
    ``video.<ext>`` and subtitles ``video.<lang>.<ext>``. When a page holds several videos, only
    the first is downloaded. ``referer`` is sent with every request (Patreon's HLS streams refuse
    requests without it). ``max_bytes`` rejects larger videos; ``rate_limit_bytes`` caps the
    download speed in bytes per second.

    Raises ``RateLimited``, ``ItemRejected`` (the video is private, removed, members-only, too
    large, or there is none at the address) or ``MediaError``.
    """
    try:
        yt_dlp: Any = importlib.import_module("yt_dlp")
    except ImportError as exc:
        raise MediaError(YT_DLP_MISSING) from exc

    workdir.mkdir(parents=True, exist_ok=True)
    options = _options(
        workdir,
        subtitle_languages=subtitle_languages,
        referer=referer,
        max_bytes=max_bytes,
        rate_limit_bytes=rate_limit_bytes,
    )
    try:
        info = _extract(yt_dlp, url, options)
    except _SubtitleFailure as failure:
        # A missing or broken subtitle track must not cost us the video itself.
        log.warning("subtitles of %s skipped: %s", _redact_url(url), failure)
        options = {**options, "writesubtitles": False, "writeautomaticsub": False}
        info = _extract(yt_dlp, url, options)
    return _result(url, info, workdir, max_bytes)


class _SubtitleFailure(Exception):
    """Only a subtitle download failed (not a rate limit): retry without subtitles."""


class _Logger:
    """Keeps yt-dlp silent: its chatter goes to debug logging, never to the terminal."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        log.debug("yt-dlp warning: %s", _clean_message(msg))

    def error(self, msg: str) -> None:
        # The same text arrives with the exception, which is what we report.
        log.debug("yt-dlp error: %s", _clean_message(msg))


def _options(
    workdir: Path,
    *,
    subtitle_languages: Sequence[str],
    referer: str | None,
    max_bytes: int | None,
    rate_limit_bytes: int | None,
) -> dict[str, Any]:
    languages = list(subtitle_languages)
    options: dict[str, Any] = {
        "outtmpl": {"default": str(workdir / "video.%(ext)s")},
        "paths": {"home": str(workdir), "temp": str(workdir)},
        "writesubtitles": bool(languages),
        "writeautomaticsub": bool(languages),
        "subtitleslangs": languages,
        "subtitlesformat": "vtt/srt/best",
        "noplaylist": True,
        "playlist_items": "1",
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "no_color": True,
        "logger": _Logger(),
        "retries": 3,
        "fragment_retries": 3,
        "extractor_retries": 1,
        "file_access_retries": 2,
        "socket_timeout": 30,
        "cachedir": False,
        "check_formats": False,
    }
    if referer:
        options["http_headers"] = {"Referer": referer}
    if max_bytes is not None:
        options["max_filesize"] = max_bytes
    if rate_limit_bytes is not None:
        options["ratelimit"] = rate_limit_bytes
    return options


def _extract(yt_dlp: Any, url: str, options: dict[str, Any]) -> dict[str, Any]:
    errors: tuple[type[BaseException], ...] = (yt_dlp.utils.YoutubeDLError, OSError)
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            raw = ydl.extract_info(url, download=True)
            info: Any = ydl.sanitize_info(raw) if raw is not None else None
    except errors as exc:
        mapped = _map_error(url, exc)
        if (
            "unable to download video subtitles" in str(exc).lower()
            and not isinstance(mapped, RateLimited)
            and options.get("writesubtitles")
        ):
            raise _SubtitleFailure(_clean_message(str(exc))) from exc
        raise mapped from exc
    if not isinstance(info, dict):
        raise MediaError("video download failed: yt-dlp returned nothing")
    if info.get("_type") == "playlist":
        entries = [entry for entry in info.get("entries") or [] if isinstance(entry, dict)]
        if not entries:
            raise ItemRejected(_redact_url(url), "no downloadable video found")
        info = entries[0]
    result: dict[str, Any] = info
    return result


def _result(
    url: str, info: dict[str, Any], workdir: Path, max_bytes: int | None
) -> DownloadedVideo:
    path = _downloaded_path(info, workdir)
    if path is None:
        if max_bytes is not None:
            # yt-dlp skips (without an error) a video whose announced size is over the limit.
            raise ItemRejected(
                _redact_url(url), f"video is larger than the limit of {max_bytes} bytes"
            )
        raise MediaError("video download failed: yt-dlp wrote no video file")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        # Streams (HLS) announce no size up front: check what actually arrived.
        path.unlink(missing_ok=True)
        raise ItemRejected(
            _redact_url(url), f"video is larger than the limit of {max_bytes} bytes"
        )
    if size == 0:
        raise MediaError("video download failed: the downloaded file is empty")

    kept: dict[str, InfoValue] = {}
    for key in INFO_KEYS:
        value = info.get(key)
        if isinstance(value, bool):
            value = None
        if isinstance(value, str | int | float) or value is None:
            kept[key] = value
    if key_url := kept.get("webpage_url"):
        kept["webpage_url"] = _redact_url(str(key_url))
    if kept.get("duration") is None:
        kept["duration"] = _probe_duration(path)

    subtitles: dict[str, Path] = {}
    for language, sub in (info.get("requested_subtitles") or {}).items():
        sub_path = sub.get("filepath") if isinstance(sub, dict) else None
        if isinstance(sub_path, str) and Path(sub_path).is_file():
            subtitles[str(language)] = Path(sub_path)
    return DownloadedVideo(path=path, info=kept, subtitles=subtitles)


_NOT_VIDEO = {".vtt", ".srt", ".part", ".ytdl", ".json"}


def _downloaded_path(info: dict[str, Any], workdir: Path) -> Path | None:
    for download in info.get("requested_downloads") or []:
        candidate = download.get("filepath") if isinstance(download, dict) else None
        if isinstance(candidate, str) and Path(candidate).is_file():
            return Path(candidate)
    candidate = info.get("filepath")
    if isinstance(candidate, str) and Path(candidate).is_file():
        return Path(candidate)
    # Fall back to the output template's name (skipping subtitles and leftovers).
    for found in sorted(workdir.glob("video.*")):
        if found.is_file() and found.name.count(".") == 1 and found.suffix not in _NOT_VIDEO:
            return found
    return None


def _probe_duration(path: Path) -> float | None:
    """The container's duration by ffprobe, when the site did not say (plain files)."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    try:
        done = subprocess.run(
            [ffprobe, "-v", "error", "-show_entries", "format=duration",
             "-of", "default=noprint_wrappers=1:nokey=1", str(path)],
            capture_output=True, text=True, timeout=30, check=False,
        )
        return round(float(done.stdout.strip()), 3) if done.returncode == 0 else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


# --- error mapping --------------------------------------------------------------------------

_UNAVAILABLE = (
    "private video",
    "video is private",
    "video unavailable",
    "is unavailable",
    "not available",
    "no longer available",
    "has been removed",
    "been deleted",
    "was deleted",
    "does not exist",
    "members-only",
    "members only",
    "join this channel",
    "only available to",
    "account associated with this video has been terminated",
    "copyright",
    "http error 401",
    "http error 403",
    "http error 404",
    "http error 410",
    "http error 451",
)
_GONE_STATUSES = {401, 403, 404, 410, 451}


def _map_error(url: str, exc: BaseException) -> AlejandriaError:
    message = _clean_message(str(exc)) or type(exc).__name__
    lowered = message.lower()
    status, headers = _http_status(exc)
    subject = _redact_url(url)
    if status == 429 or "too many requests" in lowered or "http error 429" in lowered:
        retry_after = _retry_after(headers)
        return RateLimited(f"the video site is rate-limiting us: {message}", retry_after)
    if status in _GONE_STATUSES or any(marker in lowered for marker in _UNAVAILABLE):
        return ItemRejected(subject, f"video unavailable: {message}")
    if "unsupported url" in lowered:
        return ItemRejected(subject, "no downloadable video found")
    return MediaError(f"video download failed: {message}")


def _http_status(exc: BaseException) -> tuple[int | None, Any]:
    """The HTTP status and response headers behind a yt-dlp error, when it carries them."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        status = getattr(current, "status", None)
        if isinstance(status, int) and not isinstance(status, bool):
            response = getattr(current, "response", None)
            return status, getattr(response, "headers", None) or getattr(current, "headers", None)
        exc_info = getattr(current, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            pending.append(exc_info[1])
        pending.extend(
            getattr(current, name, None) for name in ("cause", "__cause__", "__context__")
        )
    return None, None


def _retry_after(headers: Any) -> float | None:
    """Seconds from the ``Retry-After`` of the response yt-dlp kept, if any."""
    try:
        value = headers.get("Retry-After") if headers is not None else None
    except (AttributeError, TypeError):
        return None
    return retry_after(value) if isinstance(value, str) else None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PREFIX = re.compile(r"^(?:ERROR:\s*)?(?:\[[\w:.-]+\]\s*(?:[^\s:]{1,80}:\s+)?)?")
_CAUSED_BY = re.compile(r"\s*\(caused by .*$", re.DOTALL)
_BUG_REPORT = re.compile(r";\s*please report this issue.*$", re.IGNORECASE | re.DOTALL)
_URL = re.compile(r"https?://[^\s'\"<>()]+")
_SECRET_PARAM = re.compile(
    r"token|sig|signature|key|policy|auth|session|expires|credential|secret|pass|hmac|hdnts|"
    r"acl|cookie|jwt|^x-amz-",
    re.IGNORECASE,
)


def _clean_message(message: str) -> str:
    """One short line: no 'ERROR: [extractor] id:' prefix, no tracebacks, no URL secrets."""
    lines = [line.strip() for line in _ANSI.sub("", message).splitlines() if line.strip()]
    if not lines:
        return ""
    text = _BUG_REPORT.sub("", _CAUSED_BY.sub("", lines[0]))
    if text.startswith(("ERROR:", "[")):
        text = _PREFIX.sub("", text, count=1)
    text = _URL.sub(lambda match: _redact_url(match.group(0)), text).strip()
    return text[:300] + ("…" if len(text) > 300 else "")


def _redact_url(url: str) -> str:
    """The URL without user:password and with token-like query values hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<url>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(name, "REDACTED" if _SECRET_PARAM.search(name) else value) for name, value in pairs],
            safe="/:",
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
