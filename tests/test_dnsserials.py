"""
Tests of SOA serials: increasing on every change, never backwards, kept
across restarts.
"""

from __future__ import annotations

import json
import os

import attrs
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from mailfront.dns.serials import SerialState, SerialStore, ZoneSerials, nextSerial, serialGreater
from mailfront.registry import Authentication, Registry, Server
from mailfront.render.dnszones import DnsData, prepareDnsData

from .test_dnsauthority import exampleRegistry

#: A Unix time in December 2026.
NOW = 1796400000


def withImapPort(registry: Registry, domain: str, port: int) -> Registry:
    """
    Give one domain its own provider whose only IMAP server uses C{port}.
    """
    entry = registry.domains[domain]
    server = Server("imap", "mail.example-hosting.net", port, "SSL", (Authentication("plain"),))
    domains = dict(registry.domains)
    domains[domain] = attrs.evolve(entry, provider=attrs.evolve(entry.provider, incoming=(server,)))
    return attrs.evolve(registry, domains=domains)


class SerialArithmeticTests(SynchronousTestCase):
    """
    RFC 1982 comparison and the choice of the next serial.
    """

    def test_greater(self) -> None:
        """
        Serials compare in sequence space, so 1 follows 4294967295.
        """
        cases = [
            (2, 1, True),
            (1, 2, False),
            (1, 1, False),
            (1, 2**32 - 1, True),
            (2**32 - 1, 1, False),
            (2**31 - 1, 0, True),
        ]
        for first, second, expected in cases:
            with self.subTest(first=first, second=second):
                self.assertEqual(serialGreater(first, second), expected)

    def test_next(self) -> None:
        """
        The next serial is the Unix time when that is greater, else the
        last serial plus one (clock behind, or several changes in one
        second), both in sequence space, where 0 and the current time follow
        4294967295.
        """
        cases = [
            (0, NOW, NOW),
            (NOW - 10, NOW, NOW),
            (NOW, NOW, NOW + 1),
            (NOW + 5, NOW, NOW + 6),
            (2**32 - 1, 2**32 - 100, 0),
            (2**32 - 1, NOW, NOW),
        ]
        for last, now, expected in cases:
            with self.subTest(last=last, now=now):
                self.assertEqual(nextSerial(last, now), expected)


class ZoneSerialTests(SynchronousTestCase):
    """
    Serials of the zones of each domain.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(NOW)
        self.path = os.path.join(self.mktemp(), "dns-serial.json")
        self.data = prepareDnsData(exampleRegistry())

    def start(self, data: DnsData | None = None) -> ZoneSerials:
        """
        Start as a process would, reading the state file.
        """
        return ZoneSerials(data or self.data, SerialStore(self.path), self.clock)

    def test_firstStart(self) -> None:
        """
        Without a state file, every zone gets the current time as serial,
        and the file records it.
        """
        serials = self.start()
        self.assertEqual(serials.serialOf("example.com"), NOW)
        self.assertTrue(serials.changedAtStart)
        self.assertEqual(SerialStore(self.path).load(), SerialState(NOW, self.data.digest()))

    def test_restartUnchanged(self) -> None:
        """
        A restart with unchanged zones keeps the stored serial, even a day
        later, and needs no NOTIFY.
        """
        self.start()
        self.clock.advance(86400)
        serials = self.start()
        self.assertEqual(serials.serialOf("example.com"), NOW)
        self.assertFalse(serials.changedAtStart)

    def test_restartChanged(self) -> None:
        """
        A restart with changed zones gives a new serial.
        """
        self.start()
        self.clock.advance(60)
        changed = prepareDnsData(withImapPort(exampleRegistry(), "example.com", 994))
        serials = self.start(changed)
        self.assertEqual(serials.serialOf("example.net"), NOW + 60)
        self.assertTrue(serials.changedAtStart)

    def test_neverBackwards(self) -> None:
        """
        When the clock went back, a changed configuration still gets a
        serial above the stored one.
        """
        self.start()
        self.clock.rightNow = NOW - 3600
        changed = prepareDnsData(withImapPort(exampleRegistry(), "example.com", 994))
        self.assertEqual(self.start(changed).serialOf("example.com"), NOW + 1)

    def test_update(self) -> None:
        """
        A swap gives only the changed domains a new serial and returns them.
        """
        serials = self.start()
        self.clock.advance(10)
        changed = prepareDnsData(withImapPort(exampleRegistry(), "example.com", 994))
        self.assertEqual(serials.update(self.data, changed), {"example.com"})
        self.assertEqual(serials.serialOf("example.com"), NOW + 10)
        self.assertEqual(serials.serialOf("example.net"), NOW)
        self.assertEqual(SerialStore(self.path).load(), SerialState(NOW + 10, changed.digest()))

    def test_updateUnchanged(self) -> None:
        """
        A swap to equal zones changes no serial.
        """
        serials = self.start()
        self.clock.advance(10)
        self.assertEqual(serials.update(self.data, prepareDnsData(exampleRegistry())), set())
        self.assertEqual(serials.serialOf("example.com"), NOW)

    def test_updateSettings(self) -> None:
        """
        Changed C{[dns]} settings give every domain the new serial.
        """
        serials = self.start()
        self.clock.advance(10)
        changed = prepareDnsData(exampleRegistry(ttl=60))
        self.assertEqual(serials.update(self.data, changed), set(changed.templates))
        self.assertEqual({serials.serialOf(d) for d in changed.templates}, {NOW + 10})

    def test_twoChangesInOneSecond(self) -> None:
        """
        Two changes within one second get two increasing serials.
        """
        serials = self.start()
        first = prepareDnsData(withImapPort(exampleRegistry(), "example.com", 994))
        second = prepareDnsData(withImapPort(exampleRegistry(), "example.com", 995))
        serials.update(self.data, first)
        serials.update(first, second)
        self.assertEqual(serials.serialOf("example.com"), NOW + 2)
        self.assertEqual(self.start(second).serialOf("example.com"), NOW + 2)

    def test_unreadableState(self) -> None:
        """
        A damaged state file is ignored with a warning and then replaced.
        """
        os.makedirs(os.path.dirname(self.path))
        with open(self.path, "w") as f:
            f.write("{not json")
        serials = self.start()
        self.assertEqual(serials.serialOf("example.com"), NOW)
        with open(self.path) as f:
            self.assertEqual(json.load(f)["serial"], NOW)

    def test_unwritableState(self) -> None:
        """
        A state file that cannot be written is logged, and serials still
        increase in memory.
        """
        os.makedirs(self.path)
        serials = self.start()
        self.assertEqual(serials.serialOf("example.com"), NOW)
        self.clock.advance(1)
        changed = prepareDnsData(withImapPort(exampleRegistry(), "example.com", 994))
        serials.update(self.data, changed)
        self.assertEqual(serials.serialOf("example.com"), NOW + 1)
