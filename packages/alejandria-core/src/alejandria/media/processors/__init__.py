"""Built-in media processors: ``probe`` (the real type, dimensions, pages, duration, codecs)
and ``thumbnails`` (WebP previews of images, PDF first pages and video poster frames).

Each module imports its optional tools (Pillow, pypdfium2, pypdf, PyAV, ffmpeg) only when a
file needs them, so importing a processor costs nothing at start-up.
"""
