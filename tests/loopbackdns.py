"""
A DNS server on 127.0.0.1 for end-to-end tests, answering C{A 127.0.0.1}
for every name under the given domains, so that a test ACME server
validates challenges against a server on this machine.

It runs in a thread of its own, so it responds while the test blocks.
"""

from __future__ import annotations

import select
import socket
import threading
from typing import Sequence

from twisted.names import dns

__all__ = ["LoopbackDNS"]


class LoopbackDNS:
    """
    A UDP DNS server for names under C{domains}.

    Other names get NXDOMAIN; record types other than A get an empty answer.

    @ivar port: The UDP port on 127.0.0.1.
    @ivar queries: The names asked for, in order.
    """

    def __init__(self, domains: Sequence[str]) -> None:
        self._domains = tuple(d.lower() for d in domains)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.queries: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="loopback DNS", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """
        Stop serving and close the socket.
        """
        self._stopping.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _covers(self, name: str) -> bool:
        name = name.lower().rstrip(".")
        return any(name == d or name.endswith("." + d) for d in self._domains)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            readable, _, _ = select.select([self._socket], [], [], 0.2)
            if not readable:
                continue
            data, client = self._socket.recvfrom(4096)
            self._socket.sendto(self._answer(data), client)

    def _answer(self, data: bytes) -> bytes:
        query = dns.Message()
        query.fromStr(data)
        reply = dns.Message(
            id=query.id, answer=1, opCode=query.opCode, recDes=query.recDes, recAv=1, auth=1
        )
        reply.queries = query.queries
        for question in query.queries:
            name = question.name.name.decode("ascii", "replace")
            self.queries.append(name)
            if not self._covers(name):
                reply.rCode = dns.ENAME
            elif question.type == dns.A:
                reply.answers.append(
                    dns.RRHeader(
                        name=question.name.name,
                        type=dns.A,
                        ttl=60,
                        payload=dns.Record_A("127.0.0.1", ttl=60),
                    )
                )
        return reply.toStr()
