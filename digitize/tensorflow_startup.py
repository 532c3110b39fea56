"""Importing TensorFlow without its start-up chatter on the user's terminal.

TensorFlow 2.21 prints absl and oneDNN notices straight to file descriptor 2 while it loads,
whatever TF_CPP_MIN_LOG_LEVEL says. They are noise for a CLI user (and would break the
"one line per problem" promise of `digitize scan`), so the import runs with fd 2 pointed at
a temporary file, which is replayed if the import fails.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_tensorflow_startup() -> Iterator[None]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:  # already loaded: nothing left to hide
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
