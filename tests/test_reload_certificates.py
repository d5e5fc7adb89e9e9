"""
Reloads rebuild the certificate store together with the registry.
"""

from __future__ import annotations

import os

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import InvalidConfiguration, loadDirectory
from mailfront.service import ServiceConfig, _reloadSnapshot, prepareSnapshot
from mailfront.snapshot import SnapshotHolder, buildSnapshot
from mailfront.tls import KeyPair

from .certificates import NOW, TestAuthority, writePEM
from .running import EXAMPLE_CONFIG


class ReloadCertificatesTests(SynchronousTestCase):
    """
    A reload serves renewed certificate files, and a default certificate
    that became unusable rejects the reload instead of breaking HTTPS.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(NOW.timestamp())
        self.authority = TestAuthority()
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.defaultPair = KeyPair(
            os.path.join(self.directory, "..default.pem"),
            os.path.join(self.directory, "..default.key"),
        )
        default = self.authority.issue(["default.example"])
        writePEM(self.defaultPair.certificatePath, self.authority.fullchain(default))
        writePEM(self.defaultPair.keyPath, default.keyPEM())
        self.config = ServiceConfig(
            keyPair=self.defaultPair,
            certificateDirectory=self.directory,
            stateDirectory=os.path.abspath(self.mktemp()),
        )

    def served(self, holder: SnapshotHolder, name: str) -> int:
        store = holder.current.certificates
        assert store is not None
        match = store.match(name)
        assert match is not None, name
        return match.certificate.serial_number

    def test_renewedCertificate(self) -> None:
        """
        A certificate file replaced on disk is served after the reload.
        """
        first = self.authority.issue(["autoconfig.example.com"])
        path = os.path.join(self.directory, "autoconfig.example.com.pem")
        writePEM(path, self.authority.fullchain(first), first.keyPEM())
        registry = loadDirectory(EXAMPLE_CONFIG)
        holder = SnapshotHolder(prepareSnapshot(self.config, registry, 1, self.clock))
        self.assertEqual(self.served(holder, "autoconfig.example.com"),
                         first.certificate.serial_number)

        second = self.authority.issue(["autoconfig.example.com"])
        writePEM(path, self.authority.fullchain(second), second.keyPEM())
        holder.swap(_reloadSnapshot(self.config, EXAMPLE_CONFIG, 2, holder, self.clock))

        self.assertEqual(holder.current.generation, 2)
        self.assertEqual(self.served(holder, "autoconfig.example.com"),
                         second.certificate.serial_number)

    def test_brokenDefaultKept(self) -> None:
        """
        A default certificate whose key no longer matches does not replace
        the one that was serving: the reload keeps the previous default.
        """
        registry = loadDirectory(EXAMPLE_CONFIG)
        holder = SnapshotHolder(prepareSnapshot(self.config, registry, 1, self.clock))
        store = holder.current.certificates
        assert store is not None
        before = store.default.certificate
        other = self.authority.issue(["other.example"])
        writePEM(self.defaultPair.keyPath, other.keyPEM())

        holder.swap(_reloadSnapshot(self.config, EXAMPLE_CONFIG, 2, holder, self.clock))

        store = holder.current.certificates
        assert store is not None
        self.assertEqual(holder.current.generation, 2)
        self.assertEqual(store.default.certificate, before)

    def test_brokenDefaultAtStartRejected(self) -> None:
        """
        Without a previous certificate to keep, an unusable default
        certificate rejects the reload with the file named, as an invalid
        configuration does.
        """
        other = self.authority.issue(["other.example"])
        writePEM(self.defaultPair.keyPath, other.keyPEM())
        holder = SnapshotHolder(buildSnapshot(loadDirectory(EXAMPLE_CONFIG), 1))

        with self.assertRaises(InvalidConfiguration) as raised:
            _reloadSnapshot(self.config, EXAMPLE_CONFIG, 2, holder, self.clock)
        [error] = raised.exception.errors
        self.assertEqual(error.path, self.defaultPair.keyPath)
        self.assertIn("does not match", error.reason)
