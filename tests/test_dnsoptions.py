"""
Tests of the DNS options of C{twistd mailfront} and of the DNS service in
the whole mailfront service.
"""

from __future__ import annotations

import attrs
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from mailfront.dns.service import DnsService
from mailfront.registry import InvalidConfiguration, loadDirectory
from mailfront.service import ServiceConfig, makeMailfrontService
from mailfront.tap import Options

from .running import EXAMPLE_CONFIG
from .test_dnsexport import configWith
from .test_dnsnotify import FakeReactor


def serviceConfig(testCase: SynchronousTestCase, **changes: object) -> ServiceConfig:
    """
    A service configuration of the example registry without HTTP
    listeners.
    """
    return attrs.evolve(
        ServiceConfig(
            configDirectory=EXAMPLE_CONFIG,
            http=(),
            https=(),
            admin=None,
            stateDirectory=testCase.mktemp(),
        ),
        **changes,
    )


def parse(*arguments: str) -> Options:
    """
    Parse C{twistd mailfront} options.
    """
    options = Options()
    options.parseOptions(list(arguments))
    return options


class OptionTests(SynchronousTestCase):
    """
    C{--dns-port} and C{--dns-interface}.
    """

    def test_offByDefault(self) -> None:
        """
        Without C{--dns-port} there is no DNS service, on 127.0.0.1 when
        enabled.
        """
        config = parse("--config", EXAMPLE_CONFIG).serviceConfig()
        self.assertEqual((config.dnsPort, config.dnsInterface), (None, "127.0.0.1"))

    def test_port(self) -> None:
        """
        C{--dns-port} and C{--dns-interface} reach the service configuration.
        """
        config = parse(
            "--config", EXAMPLE_CONFIG, "--dns-port", "5353", "--dns-interface", "::1"
        ).serviceConfig()
        self.assertEqual((config.dnsPort, config.dnsInterface), (5353, "::1"))

    def test_invalidPort(self) -> None:
        """
        A port that is not a number from 1 to 65535 is a usage error.
        """
        for port in ("0", "65536", "dns", "-1"):
            with self.subTest(port=port):
                error = self.assertRaises(
                    usage.UsageError, parse, "--config", EXAMPLE_CONFIG, "--dns-port", port
                )
                self.assertEqual(
                    str(error), f"--dns-port: {port!r} is not a port number from 1 to 65535"
                )

    def test_invalidInterface(self) -> None:
        """
        An interface that is not an IP address is a usage error.
        """
        error = self.assertRaises(
            usage.UsageError, parse, "--config", EXAMPLE_CONFIG, "--dns-interface", "localhost"
        )
        self.assertEqual(str(error), "--dns-interface: 'localhost' is not an IPv4 or IPv6 address")

    def test_withoutDnsTable(self) -> None:
        """
        C{--dns-port} with a configuration without C{[dns]} is a usage error.
        """
        directory = configWith(self, {"dns.toml": ""})
        error = self.assertRaises(
            usage.UsageError, parse, "--config", directory, "--dns-port", "5353"
        )
        self.assertEqual(
            str(error), f"--dns-port needs a [dns] table in {directory}; see docs/dns.md"
        )


class ServiceTests(SynchronousTestCase):
    """
    The DNS service inside the mailfront service.
    """

    def test_dnsChild(self) -> None:
        """
        With a DNS port, the mailfront service has a DNS service that binds
        UDP and TCP on that port.
        """
        reactor = FakeReactor()
        config = serviceConfig(self, dnsPort=5353)
        service = makeMailfrontService(config, reactor)  # type: ignore[arg-type]
        [child] = [c for c in service if isinstance(c, DnsService)]
        service.privilegedStartService()
        self.assertEqual([(p.port, p.interface) for p in reactor.udpPorts], [(5353, "127.0.0.1")])
        self.assertEqual([(s[0], s[3]) for s in reactor.tcpServers], [(5353, "127.0.0.1")])

    def test_noDnsWithoutPort(self) -> None:
        """
        Without a DNS port, no DNS service is built.
        """
        config = serviceConfig(self)
        service = makeMailfrontService(config, FakeReactor())  # type: ignore[arg-type]
        self.assertEqual([c for c in service if isinstance(c, DnsService)], [])

    def test_dnsWithoutTable(self) -> None:
        """
        Building DNS for a registry without C{[dns]} (possible from a
        C{.tac} file) raises L{InvalidConfiguration}.
        """
        registry = attrs.evolve(loadDirectory(EXAMPLE_CONFIG), dns=None)
        config = serviceConfig(self, dnsPort=5353)
        error = self.assertRaises(
            InvalidConfiguration, makeMailfrontService, config, FakeReactor(), registry
        )
        self.assertEqual(
            [str(e) for e in error.errors],
            [f"{EXAMPLE_CONFIG}: dns: missing; DNS needs a [dns] table"],
        )
