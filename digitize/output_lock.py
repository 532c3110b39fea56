"""One writer at a time for a CSV that digitize rewrites whole: a lock file beside it,
flock'ed without waiting, naming its holder. Two writers each rewrite the file from their own
rows, and one's work is lost: the second is refused instead, in one line.

`OutputLock` is a scan's (`<out>.lock`), `ReviewLock` a review's (`<csv>.review.lock`). They
are apart on purpose: a person may review the rows a running scan has written, and the scan
takes the decisions saved since into its next commit (`batch.Batch`).

The lock file is removed when its holder ends (one killed leaves it, unlocked and harmless).
A writer that locked a file another one has just removed locks nothing, so the file locked
must still be the one at the path, or it tries again.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

from digitize.errors import UsageError
from digitize.output import writable_text


class OutputLock:
    """An exclusive lock on an entries CSV for the whole of one scan."""

    ATTEMPTS = 10
    SUFFIX = ".lock"
    HOLDER = "digitize scan"
    MAKES_FOLDER = True  # a scan's --out may be in a folder yet to be made

    def __init__(self, out: Path):
        self.out = out
        self.path = out.with_name(f"{out.name}{self.SUFFIX}")
        self.handle: int | None = None
        for _ in range(self.ATTEMPTS):
            if self._try():
                return
        raise UsageError(f"{self.named()}: cannot lock {self.path.name}")

    def named(self) -> str:
        """The locked file as the user gave it, for messages."""
        return f"--out {writable_text(str(self.out))}"

    def busy(self, holder: str) -> str:
        return (
            f"{self.named()}: another scan is writing it ({holder}); "
            "wait for it to end or give another --out"
        )

    def cannot_create(self, error: OSError) -> bool:
        """The lock file cannot be made: UsageError, or True to go on without a lock."""
        raise UsageError(
            f"{self.named()}: cannot create {self.path.name} beside it ({error.strerror or error})"
        ) from None

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exception: object) -> None:
        self.release()

    def _try(self) -> bool:
        try:
            if self.MAKES_FOLDER:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            return self.cannot_create(error)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(handle)
            os.close(handle)
            raise UsageError(self.busy(holder)) from None
        except OSError as error:
            if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP):
                raise
            # A file system without locks (some network mounts): go on unlocked, as before.
            self.handle = handle
            return True
        if not _is_at(handle, self.path):
            os.close(handle)
            return False
        os.ftruncate(handle, 0)
        os.write(handle, f"{self.HOLDER}, pid {os.getpid()}, since {time.ctime()}\n".encode())
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is None:
            return
        # Removed while still locked: whoever opens the path next makes a new file.
        self.path.unlink(missing_ok=True)
        os.close(self.handle)
        self.handle = None


class ReviewLock(OutputLock):
    """An exclusive lock on an entries CSV for the whole of one `digitize review`: each
    review rewrites the CSV from the decisions it holds, so a second one's save would write
    away the first's (answered 200 in its page, then lost)."""

    SUFFIX = ".review.lock"
    HOLDER = "digitize review"
    MAKES_FOLDER = False  # the CSV must be there already

    def named(self) -> str:
        return writable_text(str(self.out))

    def busy(self, holder: str) -> str:
        return (
            f"{self.named()}: another review has it open ({holder}); finish that one "
            "first (Finish in its page, or Ctrl-C)"
        )

    def cannot_create(self, error: OSError) -> bool:
        # A folder no file can be made in: the review cannot save there either (each save
        # writes a new file and renames it), so there is nothing to lose and it goes on.
        return True


def _read_holder(handle: int) -> str:
    try:
        text = os.pread(handle, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "one that has not said which yet"


def _is_at(handle: int, path: Path) -> bool:
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(handle)
    return (here.st_dev, here.st_ino) == (opened.st_dev, opened.st_ino)
