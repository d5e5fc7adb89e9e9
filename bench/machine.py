"""
A description of the machine a benchmark ran on.
"""

from __future__ import annotations

import os
import platform
import sys

__all__ = ["describeMachine"]


def _cpuModel() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memoryGiB() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def describeMachine() -> str:
    """
    Describe the CPUs, memory, kernel and Python, as comment lines.
    """
    import twisted

    return "\n".join(
        [
            f"# machine: {os.cpu_count()} CPUs ({_cpuModel()}), {_memoryGiB()} memory, "
            f"Linux {platform.release()}",
            f"# Python {sys.version.split()[0]}, Twisted {twisted.__version__}",
        ]
    )
