"""Subtitles (WebVTT, SRT) as transcript segments: the captions a video site already made
become a searchable transcript at once, with no speech recognition."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from alejandria.plugin_types import TranscriptSegment

_TIMESTAMP = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}")
_TAG = re.compile(r"<[^>\n]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")
#: Consecutive cues closer than this (seconds) are checked for YouTube's rolling repeats.
_ROLLING_GAP_S = 0.5


@dataclass
class _Cue:
    start_s: float
    end_s: float
    lines: list[str]


def parse_webvtt(text: str) -> list[TranscriptSegment]:
    """The cues of a WebVTT file as transcript segments, cleaned of markup and repeats.

    Handles ``HH:MM:SS.mmm`` and ``MM:SS.mmm`` timings, cue settings, cue identifiers, NOTE,
    STYLE and REGION blocks, inline tags (``<c>``, ``<v Name>``, ``<00:00:01.000>``), HTML
    entities, and the rolling captions of YouTube's automatic subtitles, in which every cue
    repeats the previous cue's last line before adding a new one.
    """
    cues: list[_Cue] = []
    for block in _blocks(text):
        first = block[0].lstrip("\ufeff")
        if re.match(r"(WEBVTT|NOTE|STYLE|REGION)(\s|$)", first):
            continue
        cue = _cue(block)
        if cue is not None:
            cues.append(cue)
    return _merge_rolling(cues)


def parse_srt(text: str) -> list[TranscriptSegment]:
    """The cues of a SubRip (.srt) file as transcript segments (same cleaning as WebVTT)."""
    cues = [cue for cue in (_cue(block) for block in _blocks(text)) if cue is not None]
    return _merge_rolling(cues)


def parse_subtitle_file(path: Path) -> list[TranscriptSegment]:
    """Parse a downloaded subtitle file by its suffix (``.srt``; anything else as WebVTT)."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    return parse_srt(text) if path.suffix.lower() == ".srt" else parse_webvtt(text)


def _blocks(text: str) -> list[list[str]]:
    """Blank-line separated blocks; a line of spaces is cue text (YouTube writes " " lines)."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in normalized.split("\n"):
        if line:
            current.append(line)
        elif current:
            blocks.extend(_split_at_timings(current))
            current = []
    if current:
        blocks.extend(_split_at_timings(current))
    return blocks


def _split_at_timings(block: list[str]) -> list[list[str]]:
    """Split a block holding several cues (sloppy files separate cues by lines of spaces)."""
    starts = [0]
    for index in range(2, len(block)):
        if _TIMING.match(block[index]) and index - starts[-1] >= 2:
            # "2" after a line of spaces is the next cue's identifier, not this cue's text.
            has_identifier = (
                index - 2 > starts[-1]
                and block[index - 1].strip() != ""
                and block[index - 2].strip() == ""
            )
            starts.append(index - 1 if has_identifier else index)
    ends = [*starts[1:], len(block)]
    return [block[start:end] for start, end in zip(starts, ends, strict=True)]


def _cue(block: list[str]) -> _Cue | None:
    # The timing line is the first line, or the second after a cue identifier / SRT number.
    for index in range(min(2, len(block))):
        match = _TIMING.match(block[index])
        if match is None:
            continue
        start = _seconds(*match.groups()[:4])
        end = _seconds(*match.groups()[4:])
        lines = [cleaned for line in block[index + 1:] if (cleaned := _clean_line(line))]
        return _Cue(start, max(start, end), lines)
    return None


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str) -> float:
    return round(
        int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0"))
        / 1000,
        3,
    )


def _clean_line(line: str) -> str:
    text = html.unescape(_ASS_OVERRIDE.sub("", _TAG.sub("", line)))
    return " ".join(text.split())


def _merge_rolling(cues: list[_Cue]) -> list[TranscriptSegment]:
    segments: list[TranscriptSegment] = []
    previous: _Cue | None = None
    for cue in cues:
        new_lines = cue.lines
        if previous is not None and cue.start_s - previous.end_s <= _ROLLING_GAP_S:
            new_lines = cue.lines[_overlap(previous.lines, cue.lines):]
        if cue.lines:
            previous = cue
        if not new_lines:
            # Only repeats: the text already emitted stays on screen a little longer.
            if segments and cue.lines:
                last = segments[-1]
                segments[-1] = TranscriptSegment(
                    last.start_s, max(last.end_s, cue.end_s), last.text
                )
            continue
        segments.append(TranscriptSegment(cue.start_s, cue.end_s, " ".join(new_lines)))
    return segments


def _overlap(before: list[str], after: list[str]) -> int:
    """How many leading lines of ``after`` repeat the trailing lines of ``before``."""
    for size in range(min(len(before), len(after)), 0, -1):
        if before[-size:] == after[:size]:
            return size
    return 0
