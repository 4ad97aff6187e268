"""Embedded videos: downloading them with yt-dlp and turning their subtitles into transcripts."""
