"""
Running C{wrk} with L{requests.lua} and reading its result.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Mapping, Optional, Sequence

import attrs

__all__ = ["LoadResult", "WrkError", "runWrk", "writeRequestList"]

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requests.lua")

_MARKER = "BENCH-RESULT "


class WrkError(RuntimeError):
    """
    C{wrk} failed or printed no result.
    """


@attrs.frozen
class LoadResult:
    """
    What one C{wrk} run measured.

    @ivar statuses: Response count by HTTP status.
    @ivar socketErrors: Connect, read, write and timeout errors by kind.
    """

    connections: int
    requests: int
    seconds: float
    p50Milliseconds: float
    p99Milliseconds: float
    statuses: Mapping[int, int]
    socketErrors: Mapping[str, int]
    emptyBodies: int

    @property
    def requestsPerSecond(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        """
        Count the responses that were not 200 with a body, and socket errors.
        """
        bad = sum(count for status, count in self.statuses.items() if status != 200)
        return bad + self.emptyBodies + sum(self.socketErrors.values())

    def toJSON(self) -> dict[str, object]:
        """
        Convert to a JSON-ready mapping for the results file.
        """
        return {
            "connections": self.connections,
            "requests": self.requests,
            "seconds": self.seconds,
            "requestsPerSecond": self.requestsPerSecond,
            "p50Milliseconds": self.p50Milliseconds,
            "p99Milliseconds": self.p99Milliseconds,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "socketErrors": dict(self.socketErrors),
            "emptyBodies": self.emptyBodies,
        }


def writeRequestList(path: str, lines: Sequence[tuple[str, str, str, str]]) -> None:
    """
    Write the request file L{requests.lua} reads.

    @param lines: C{(method, host, path, address)} of each request.
    """
    with open(path, "w", encoding="ascii") as f:
        for fields in lines:
            if any("\t" in field or "\n" in field for field in fields):
                raise ValueError(f"request field with a tab or newline: {fields!r}")
            f.write("\t".join(fields) + "\n")


def runWrk(
    url: str,
    requestList: str,
    connections: int,
    seconds: float,
    cpus: Optional[str] = None,
    bodyTemplate: Optional[str] = None,
    contentType: str = "",
    timeoutSeconds: float = 5.0,
) -> LoadResult:
    """
    Run one bounded C{wrk} load with one thread.

    @param url: Base URL of the server, such as C{http://127.0.0.1:8080/}.
    @param cpus: A C{taskset} CPU list to pin C{wrk} to, or C{None}.
    @param seconds: Duration of the load; C{wrk} is killed if it runs
        twice as long plus ten seconds.
    @raise WrkError: If C{wrk} fails or prints no result line.
    """
    command = [
        "wrk",
        "--threads", "1",
        "--connections", str(connections),
        "--duration", f"{max(1, round(seconds))}s",
        "--timeout", f"{timeoutSeconds:g}s",
        "--script", SCRIPT,
        url,
        "--",
        requestList,
        bodyTemplate or "",
        contentType,
    ]
    if cpus is not None:
        command = ["taskset", "--cpu-list", cpus, *command]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=2 * seconds + 10, check=False
        )
    except subprocess.TimeoutExpired:
        raise WrkError(f"wrk did not finish within {2 * seconds + 10:g} s") from None
    if completed.returncode != 0:
        raise WrkError(f"wrk exited with {completed.returncode}: {completed.stderr.strip()}")
    for line in completed.stdout.splitlines():
        if line.startswith(_MARKER):
            return _parse(connections, json.loads(line[len(_MARKER) :]))
    raise WrkError(f"wrk printed no result line:\n{completed.stdout}{completed.stderr}")


def _parse(connections: int, data: Mapping[str, object]) -> LoadResult:
    statuses = data["statuses"]
    errors = data["socketErrors"]
    assert isinstance(statuses, dict) and isinstance(errors, dict)
    return LoadResult(
        connections=connections,
        requests=int(data["requests"]),  # type: ignore[call-overload]
        seconds=int(data["durationMicroseconds"]) / 1e6,  # type: ignore[call-overload]
        p50Milliseconds=int(data["p50Microseconds"]) / 1000,  # type: ignore[call-overload]
        p99Milliseconds=int(data["p99Microseconds"]) / 1000,  # type: ignore[call-overload]
        statuses={int(k): int(v) for k, v in statuses.items()},
        socketErrors={str(k): int(v) for k, v in errors.items()},
        emptyBodies=int(data["emptyBodies"]),  # type: ignore[call-overload]
    )
