"""Exit codes of the `digitize` command (documented in the README)."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # every input read (some fields may still need review)
    INPUT_FAILED = 1  # some input files could not be read; the rest were processed
    USAGE = 2  # a wrong flag, option value or argument; nothing was done
    DATA = 3  # the model (or its card) or MNIST could not be loaded
    NOT_INSTALLED = 4  # retrain finished but the new model was worse, so it was not installed
    INTERRUPTED = 130  # Ctrl-C; what was finished is kept
