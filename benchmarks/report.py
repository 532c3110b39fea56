"""Benchmark results: a Markdown file with the machine, library versions and the command
next to the figures, in benchmarks/results/."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # not Linux: the platform's own name below
        pass
    return platform.processor() or "unknown CPU"


def describe_machine() -> str:
    versions = []
    for package in (
        "tensorflow-cpu",
        "tensorflow",
        "keras",
        "keras-tuner",
        "numpy",
        "opencv-python-headless",
        "pdf2image",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):  # e.g. tensorflow beside -cpu
            versions.append(f"{package} {metadata.version(package)}")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}  \n"
        f"Libraries: {', '.join(versions)}  \n"
        f"Date: {datetime.date.today().isoformat()}  "
    )


def write_results(name: str, title: str, lines: list[str]) -> Path:
    """Write results/<name>.md (title, machine, command, then `lines`) and print it."""
    script = Path(sys.argv[0]).name
    text = "\n".join(
        [
            f"# {title}",
            "",
            describe_machine(),
            f"Command: `{' '.join(['python', f'benchmarks/{script}', *sys.argv[1:]])}`",
            "",
            *lines,
            "",
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(text)
    print(text)
    return path
