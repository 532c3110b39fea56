"""The machine and library versions, written next to every benchmark figure."""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe_machine() -> str:
    versions = []
    for package in ("tensorflow-cpu", "tensorflow", "keras", "keras-tuner", "numpy",
                    "opencv-python-headless", "pdf2image"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}  \n"
        f"Libraries: {', '.join(versions)}  \n"
        f"Date: {datetime.date.today().isoformat()}  "
    )
