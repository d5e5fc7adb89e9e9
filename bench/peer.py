"""
The peer: automx2 from PyPI, in its own virtual environment, under gunicorn.

automx2 keeps its registry in an SQL database. The benchmark seeds a SQLite
file with the same providers, servers and domains as mailfront's generated
registry, and runs one gunicorn worker on the server CPUs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Optional

from .registry import BenchRegistry
from .servers import ServerProcess, freePort, removeLogs, startProcess

__all__ = ["AUTOMX2_REQUIREMENTS", "PeerUnavailable", "preparePeer", "startAutomx2"]

#: The versions measured; pinned so runs compare like with like.
AUTOMX2_REQUIREMENTS = ("automx2==2026.2", "gunicorn==27.0.1")

_SEED_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "automx2_seed.py")

#: Seconds that creating the virtual environment and installing may take.
INSTALL_TIMEOUT = 600


class PeerUnavailable(RuntimeError):
    """
    automx2 could not be installed or started. The message gives the reason.
    """


def _run(command: list[str], what: str, timeout: float, **kwargs: object) -> None:
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs  # type: ignore[call-overload]
        )
    except subprocess.TimeoutExpired:
        raise PeerUnavailable(f"{what} did not finish within {timeout:g} s") from None
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip()[-3000:]
        raise PeerUnavailable(f"{what} failed with exit status {completed.returncode}:\n{output}")


def preparePeer(workDirectory: str) -> str:
    """
    Create automx2's virtual environment unless it exists with the pinned
    versions.

    @return: The environment's directory.
    @raise PeerUnavailable: If creating or installing fails.
    """
    venv = os.path.join(workDirectory, "automx2-venv")
    stamp = os.path.join(venv, "bench-requirements.txt")
    wanted = "\n".join(AUTOMX2_REQUIREMENTS) + "\n"
    if os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as f:
            if f.read() == wanted:
                return venv
    _run([sys.executable, "-m", "venv", "--clear", venv], "creating automx2's venv", 120)
    pip = os.path.join(venv, "bin", "pip")
    _run([pip, "install", "--quiet", *AUTOMX2_REQUIREMENTS], "pip install automx2", INSTALL_TIMEOUT)
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(wanted)
    return venv


def _seed(registry: BenchRegistry) -> dict[str, object]:
    providers = []
    for number, provider in enumerate(registry.providers):
        domains = [
            name for index, name in registry.domains() if index % len(registry.providers) == number
        ]
        providers.append(
            {
                "name": f"Bench Hosting {provider.id[-2:]}",
                "shortName": "Bench",
                "servers": [list(server) for server in provider.servers()],
                "domains": domains,
            }
        )
    return {"providers": providers}


def startAutomx2(
    venv: str,
    registry: BenchRegistry,
    workDirectory: str,
    cpus: Optional[str],
) -> ServerProcess:
    """
    Seed a fresh database from C{registry} and start automx2 on it.

    gunicorn runs one synchronous worker, its default, with its access log
    written to a file as mailfront's is.

    @raise PeerUnavailable: If seeding fails or automx2 does not start.
    """
    database = os.path.join(workDirectory, f"automx2-{registry.domainCount}.sqlite")
    if os.path.exists(database):
        os.remove(database)
    python = os.path.join(venv, "bin", "python")
    configuration = os.path.join(workDirectory, "automx2.conf")
    with open(configuration, "w", encoding="utf-8") as f:
        f.write(f"[automx2]\nloglevel = WARNING\ndb_echo = no\ndb_uri = sqlite:///{database}\n")
    environment = {"AUTOMX2_CONF": configuration}
    _run(
        [python, _SEED_SCRIPT, database],
        "seeding automx2's database",
        300,
        input=json.dumps(_seed(registry)),
        env={**os.environ, **environment},
    )
    port = freePort()
    accessLog = os.path.join(workDirectory, "automx2-access.log")
    removeLogs(accessLog)
    command = [
        os.path.join(venv, "bin", "gunicorn"),
        "--bind", f"127.0.0.1:{port}",
        "--workers", "1",
        "--access-logfile", accessLog,
        "automx2.server:app",
    ]
    try:
        return startProcess(
            "automx2",
            command,
            port,
            os.path.join(workDirectory, "automx2.log"),
            cpus=cpus,
            environment=environment,
            timeout=60,
        )
    except RuntimeError as e:
        raise PeerUnavailable(str(e)) from None
