"""Errors as users see them: one line each."""


def one_line(error: BaseException, last: bool = False) -> str:
    """An exception's message cut to one line (its first, or its `last`) of 200 characters."""
    lines = (str(error).strip() or type(error).__name__).splitlines()
    return (lines[-1] if last else lines[0])[:200]
