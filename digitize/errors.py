"""The errors digitize reports to its user: each one line, each with the exit code it ends in.

Library code raises these; the CLI handles them in one place (`digitize.cli.run`), printing
`digitize: <message>` and exiting with `exit_code`. Anything else escaping is a bug.
"""

from __future__ import annotations

from digitize.exit_codes import ExitCode


class DigitizeError(Exception):
    """A problem the user can act on; the message is one line for them."""

    exit_code: ExitCode = ExitCode.DATA


class UsageError(DigitizeError):
    """A wrong option, argument or output path; nothing was done."""

    exit_code = ExitCode.USAGE


class InputError(DigitizeError):
    """An input file gives no (more) pages. Scan reports it for that file and goes on."""

    exit_code = ExitCode.INPUT_FAILED


class DataError(DigitizeError):
    """The model (or its card) or MNIST could not be loaded."""

    exit_code = ExitCode.DATA


class ModelError(DataError):
    """The digit model (or its card) could not be loaded."""


class CsvError(UsageError):
    """A CSV given to digitize (entries, truth, corrections) cannot be used."""
