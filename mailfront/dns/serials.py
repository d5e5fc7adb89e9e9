"""
SOA serials that increase whenever a zone changes and never go backwards,
not even across restarts.

A new serial is the current Unix time, or the last serial plus one when the
clock has not moved past it (RFC 1982 arithmetic, so the serial wraps
correctly after 2106). The last serial handed out and a digest of all zone
contents are kept in a small JSON file in the state directory. At start,
an unchanged digest keeps the stored serial for every zone, so a restart
causes no zone transfers. A changed digest gives every zone a new serial.
While running, only the domains whose zones changed get a new serial.
"""

from __future__ import annotations

import json
import os
from typing import Optional

import attrs
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from ..render.dnszones import DnsData

__all__ = ["serialGreater", "nextSerial", "SerialState", "SerialStore", "ZoneSerials"]

_MODULUS = 2**32
_HALF = 2**31


def serialGreater(first: int, second: int) -> bool:
    """
    Compare two serials with RFC 1982 sequence-space arithmetic.

    @return: Whether C{first} is greater than C{second}.
    """
    return first != second and (
        (first > second and first - second < _HALF) or (first < second and second - first > _HALF)
    )


def nextSerial(last: int, now: float) -> int:
    """
    Choose the serial that follows C{last}: the Unix time C{now} when it is
    greater, else C{last + 1}.
    """
    candidate = int(now) % _MODULUS
    if serialGreater(candidate, last):
        return candidate
    return (last + 1) % _MODULUS


@attrs.frozen
class SerialState:
    """
    The contents of the state file.

    @ivar serial: The highest serial handed out.
    @ivar digest: L{DnsData.digest} of the zones at that time.
    """

    serial: int
    digest: str


class SerialStore:
    """
    The state file, written atomically by renaming a complete temporary
    file over it.
    """

    log = Logger()

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> Optional[SerialState]:
        """
        Read the state, or return C{None} when the file is missing or
        unreadable (and log why for the latter).
        """
        try:
            with open(self.path, encoding="utf-8") as f:
                document = json.load(f)
            state = SerialState(int(document["serial"]) % _MODULUS, str(document["digest"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.log.warn(
                "Ignoring the unreadable DNS serial file {path}: {error}", path=self.path, error=e
            )
            return None
        return state

    def save(self, state: SerialState) -> None:
        """
        Write the state.

        @raise OSError: If the file cannot be written.
        """
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump({"serial": state.serial, "digest": state.digest}, f)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.path)


class ZoneSerials:
    """
    The SOA serial of every domain's zones.

    @ivar highest: The highest serial handed out.
    @ivar changedAtStart: Whether the zones differ from those the state file
        describes, so secondaries should get a NOTIFY at start.
    """

    log = Logger()

    def __init__(self, data: DnsData, store: SerialStore, clock: IReactorTime) -> None:
        self._store = store
        self._clock = clock
        self._serials: dict[str, int] = {}
        state = store.load()
        digest = data.digest()
        if state is not None and state.digest == digest:
            self._base = state.serial
            self.changedAtStart = False
        else:
            self._base = nextSerial(state.serial if state else 0, clock.seconds())
            self.changedAtStart = True
            self._save(SerialState(self._base, digest))
        self.highest = self._base

    def serialOf(self, domain: str) -> int:
        """
        Return the serial of a domain's zones.
        """
        return self._serials.get(domain, self._base)

    def update(self, previous: Optional[DnsData], current: DnsData) -> set[str]:
        """
        Give the zones that changed between two snapshots a new serial.

        @return: The domains whose zones changed.
        """
        changed = None if previous is None else current.changedDomains(previous)
        if changed is not None and not changed:
            if previous is not None and previous.templates.keys() != current.templates.keys():
                self._save(SerialState(self.highest, current.digest()))
            return set()

        serial = nextSerial(self.highest, self._clock.seconds())
        if changed is None:
            self._base = serial
            self._serials.clear()
            changed = set(current.templates)
        else:
            for domain in [d for d in self._serials if d not in current.templates]:
                del self._serials[domain]
            for domain in changed:
                self._serials[domain] = serial
        self.highest = serial
        self._save(SerialState(serial, current.digest()))
        return changed

    def _save(self, state: SerialState) -> None:
        try:
            self._store.save(state)
        except OSError as e:
            # The serials in memory stay correct. After a restart, the stored
            # serial may be older than one handed out, but the restart
            # chooses a serial above the current time or the stored one.
            self.log.error(
                "Cannot write the DNS serial file {path}: {error}", path=self._store.path, error=e
            )
