"""SIGTERM stops a command as Ctrl-C does.

A service manager, `kill`, a batch system or a closed session sends SIGTERM, whose default
action ends the process at once: a scan's workers were left reading, a review's corrections
not exported, and nothing said. Raised as KeyboardInterrupt, it takes the path Ctrl-C does:
finished work kept, workers stopped, the same message and exit code.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within it, SIGTERM raises KeyboardInterrupt. Only the main thread may set a handler;
    elsewhere (a library caller's thread) SIGTERM keeps its own meaning."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        yield
    finally:
        if main and previous is not None:  # None: a handler not set from Python; left as is
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
