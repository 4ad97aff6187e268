"""A real ``alejandria stats`` command that holds the embedded server: it prints "ready" once
the server is up and its handle taken, then waits (for a test to signal or kill it)."""

from __future__ import annotations

import textwrap

HELD_STATS = textwrap.dedent("""
    import time
    from alejandria.api import Archive
    from alejandria.cli.main import main

    def stats(self):
        print("ready", flush=True)
        time.sleep(120)

    Archive.stats = stats
    main()
""")
