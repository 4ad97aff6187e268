"""The two ends of a command's process, where a short command spends a fifth of its time.

- **Loading.** Importing SQLAlchemy, pydantic and the rest allocates hundreds of thousands of
  objects and frees almost none, so the cyclic garbage collector runs again and again and
  finds nothing: about 0.03 s of a 0.5 s command. ``gc_paused()`` turns it off around the
  blocks that import (registering the commands, opening the archive) and back on after them,
  so a long command (a sync, a worker) collects as usual.
- **Exiting.** After the exit handlers, Python tears every module down and frees every
  object one by one: about 0.09 s, for memory the kernel takes back at once anyway.
  ``exit_now`` runs the exit handlers (they release the embedded server's handle, record an
  interrupted job, flush the logs), flushes stdout and stderr, and ends the process with
  ``os._exit``. While a thread other than a daemon still runs it exits the usual way
  instead, so that Python waits for that thread as it always does.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's state is restored after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def exit_code(exc: SystemExit) -> int:
    """The status ``sys.exit(value)`` ends a process with (a message: printed, status 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` after the exit handlers, without the interpreter's
    teardown (or with it, while a non-daemon thread runs)."""
    if any(thread.is_alive() and not thread.daemon
           for thread in threading.enumerate() if thread is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head), a closed stream
            if stream is sys.stdout and code == 0:
                code = 120  # what Python's own exit reports when stdout cannot be flushed
    os._exit(code)
