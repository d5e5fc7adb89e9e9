"""
Starting mailfront for the benchmark, and finding which of its features the
code under test has.

Other protocols and options land in mailfront over time; the benchmark reads
C{twistd mailfront --help} and C{mailfront --help} to find out what it can
measure, and reports what it skips.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from typing import Optional, Sequence

from .servers import ROOT, ServerProcess, freePort, startProcess, twistdCommand

__all__ = ["hasCommand", "hasOption", "startMailfront"]


@functools.lru_cache(maxsize=None)
def _helpText(command: tuple[str, ...]) -> str:
    completed = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
        env={"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"},
    )
    return completed.stdout + completed.stderr if completed.returncode == 0 else ""


def hasOption(option: str) -> bool:
    """
    Tell whether C{twistd mailfront} accepts C{option}, such as
    C{--workers}.
    """
    text = _helpText(tuple(twistdCommand("mailfront", "--help", logPath="-")))
    return f"{option}=" in text or f"{option} " in text


def hasCommand(name: str) -> bool:
    """
    Tell whether the C{mailfront} command has the subcommand C{name}.
    """
    text = _helpText((sys.executable, "-m", "mailfront.cli", name, "--help"))
    return bool(text)


def startMailfront(
    config: str,
    logPath: str,
    cpus: Optional[str],
    workers: int = 1,
    extraArguments: Sequence[str] = (),
    name: str = "mailfront",
) -> ServerProcess:
    """
    Start C{twistd mailfront} with a plain-HTTP listener on 127.0.0.1 and
    its access log going to C{logPath}.

    An HTTPS listener and the admin listener are opened too, as in
    production: with HTTPS, mailfront signs Apple profiles with its
    (generated, self-signed) certificate. Requests go to the plain-HTTP
    listener.

    @param workers: Worker processes; more than one needs C{--workers}.
    """
    port = freePort()
    arguments = [
        "mailfront",
        "--config", config,
        "--http", f"tcp:{port}:interface=127.0.0.1",
        "--https", f"tcp:{freePort()}:interface=127.0.0.1",
        "--state-dir", os.path.join(os.path.dirname(logPath), "mailfront-state"),
        *extraArguments,
    ]
    if hasOption("--admin"):
        # Its own port, so that no other mailfront on the machine is in the way.
        arguments += ["--admin", f"tcp:{freePort()}:interface=127.0.0.1"]
    if workers != 1:
        arguments += ["--workers", str(workers)]
    return startProcess(name, twistdCommand(*arguments, logPath=logPath), port, logPath, cpus=cpus)
