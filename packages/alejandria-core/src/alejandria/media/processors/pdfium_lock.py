"""One lock for PDFium in this process: the library is not thread-safe, and the probe and
thumbnail processors run on several files at once (``ProcessorSpec.threadsafe``)."""

from __future__ import annotations

import threading

PDFIUM_LOCK = threading.Lock()
