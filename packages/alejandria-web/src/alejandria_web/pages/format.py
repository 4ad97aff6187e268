"""Jinja filters: sizes, durations, timestamps and dates as people read them."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_datetime

from alejandria_web.pages import i18n


def filesize(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def duration(seconds: float | None) -> str:
    """``3:07`` or ``1:02:03``."""
    if seconds is None:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def timestamp(seconds: float | None) -> str:
    """A transcript line's start, like ``duration``."""
    return duration(seconds)


def local_date(moment: datetime | str | None) -> str:
    if moment is None or moment == "":
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return format_date(value, format="medium", locale=i18n.current_language())


def local_datetime(moment: datetime | str | None) -> str:
    if moment is None or moment == "":
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return format_datetime(value, format="medium", locale=i18n.current_language())
