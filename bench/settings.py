"""
The choices of one benchmark run.
"""

from __future__ import annotations

import os
from typing import Optional

import attrs

__all__ = ["Settings"]


@attrs.frozen
class Settings:
    """
    What to run and how long.

    @ivar workDirectory: Generated registries, request lists, logs and the
        peer's virtual environment go here.
    @ivar seconds: Duration of each measured load run.
    @ivar warmupSeconds: Duration of the unmeasured run before the first
        measured run of each server and scenario; 0 for none.
    @ivar repeat: Measured runs of each server, scenario and connection
        count, interleaved between the servers. The run with the most
        requests per second is kept, because other work on the machine
        only ever slows a run down.
    @ivar connections: Connection counts to measure each scenario at.
    @ivar domains: Domains in the registry that HTTP scenarios use.
    @ivar addresses: Distinct addresses the requests are spread over.
    @ivar serverCPUs: C{taskset} CPU list for the servers, or C{None} to
        leave them unpinned.
    @ivar clientCPUs: C{taskset} CPU list for C{wrk} and C{dnsperf}.
    @ivar scaleDomains: Registry sizes of the scale measurement.
    @ivar sections: Parts to run: C{http}, C{workers}, C{dns}, C{scale}.
    @ivar smoke: Whether this is the quick check CI runs: short loads, no
        peer, small registries, no pinning.
    """

    workDirectory: str
    seconds: float = 10.0
    warmupSeconds: float = 2.0
    repeat: int = 3
    connections: tuple[int, ...] = (10, 100)
    domains: int = 1000
    addresses: int = 10000
    serverCPUs: Optional[str] = "1"
    clientCPUs: Optional[str] = "0"
    peer: bool = True
    scaleDomains: tuple[int, ...] = (1000, 100_000, 1_000_000)
    sections: tuple[str, ...] = ("http", "workers", "dns", "scale")
    scenarios: tuple[str, ...] = ("autoconfig", "autodiscover", "apple")
    smoke: bool = False

    def path(self, *parts: str) -> str:
        """
        Name a file or directory inside the work directory.
        """
        return os.path.join(self.workDirectory, *parts)

    @classmethod
    def forSmoke(cls, workDirectory: str) -> "Settings":
        """
        Build the settings of the smoke mode: every part runs, each for
        about a second, with nothing to install and no timing asserted.
        """
        return cls(
            workDirectory=workDirectory,
            seconds=1.0,
            warmupSeconds=0.0,
            repeat=1,
            connections=(4,),
            domains=50,
            addresses=200,
            serverCPUs=None,
            clientCPUs=None,
            peer=False,
            scaleDomains=(200,),
            smoke=True,
        )
