"""
Tests for the TLS and ACME options of C{twistd mailfront}.
"""

from __future__ import annotations

import os
import stat

from acme import messages
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from mailfront.tap import Options
from mailfront.tls import TLSPolicy
from mailfront.tls.acmeclient import LETS_ENCRYPT_STAGING, AcmeStorage, describeError

from .running import EXAMPLE_CONFIG


def _parse(*arguments: str) -> Options:
    options = Options()
    options.parseOptions(["--config", EXAMPLE_CONFIG, *arguments])
    return options


class TLSOptionsTests(SynchronousTestCase):
    """
    Tests for turning options into a L{mailfront.service.ServiceConfig}.
    """

    def test_defaults(self) -> None:
        """
        Without TLS options: the modern policy, the usual host names, no
        certificate directory and no ACME.
        """
        config = _parse().serviceConfig()
        self.assertEqual(config.tlsPolicy, TLSPolicy())
        self.assertEqual(config.hostLabels, ("autoconfig", "autodiscover"))
        self.assertIsNone(config.certificateDirectory)
        self.assertIsNone(config.acme)

    def test_acme(self) -> None:
        """
        ACME options become settings. The account and certificates are
        stored under the state directory unless --acme-dir is given.
        """
        config = _parse(
            "--state-dir", "/var/lib/mailfront",
            "--acme-directory", "letsencrypt-staging",
            "--acme-email", "hostmaster@example.com",
            "--tls-names", "autoconfig, AutoDiscover,mta-sts",
            "--tls-dir", "/etc/mailfront/certificates",
        ).serviceConfig()
        assert config.acme is not None
        self.assertEqual(config.acme.directoryURL, LETS_ENCRYPT_STAGING)
        self.assertEqual(config.acme.storageDirectory, "/var/lib/mailfront/acme")
        self.assertEqual(config.acme.email, "hostmaster@example.com")
        self.assertEqual(config.acme.orderInterval, 36.0)
        self.assertEqual(config.hostLabels, ("autoconfig", "autodiscover", "mta-sts"))
        self.assertEqual(config.certificateDirectory, "/etc/mailfront/certificates")
        self.assertEqual(
            config.certificateSources().hostNames("one.example"),
            ["autoconfig.one.example", "autodiscover.one.example", "mta-sts.one.example"],
        )

    def test_errors(self) -> None:
        """
        Inconsistent or invalid TLS options are one-line usage errors that
        name the option.
        """
        cases = [
            (["--acme-email", "a@example.com"], "--acme-email needs --acme-directory"),
            (["--acme-directory", "letsencrypt", "--https", "tcp:8443"], "--http listener"),
            (["--acme-directory", "le"], "is not a URL"),
            (["--tls-names", "auto config"], "'auto config' is not a DNS label"),
            (["--tls-min-version", "1.0"], "unknown TLS version '1.0'"),
            (["--tls-ciphers", "NOPE"], "selects no cipher"),
        ]
        for arguments, message in cases:
            error = self.assertRaises(usage.UsageError, _parse, *arguments)
            self.assertIn(message, str(error), arguments)


class AcmeStorageTests(SynchronousTestCase):
    """
    Tests for the ACME files on disk.
    """

    def test_accountKeyKept(self) -> None:
        """
        The account key is created once per ACME server, readable by its
        owner only, and read back on the next start.
        """
        storage = AcmeStorage(self.mktemp())
        first = storage.accountKey(LETS_ENCRYPT_STAGING)
        again = AcmeStorage(storage.directory).accountKey(LETS_ENCRYPT_STAGING)
        other = storage.accountKey("https://127.0.0.1:14000/dir")
        self.assertEqual(first.thumbprint(), again.thumbprint())
        self.assertNotEqual(first.thumbprint(), other.thumbprint())
        accounts = os.path.join(storage.directory, "accounts")
        for folder in os.listdir(accounts):
            path = os.path.join(accounts, folder)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o700)
            key = os.path.join(path, "private_key.pem")
            self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)

    def test_certificateFiles(self) -> None:
        """
        A certificate is stored as fullchain.pem and privkey.pem, the key
        readable by its owner only.
        """
        storage = AcmeStorage(self.mktemp())
        pair = storage.saveCertificate("one.example", b"chain", b"key")
        self.assertEqual(
            pair.certificatePath,
            os.path.join(storage.directory, "certificates", "one.example", "fullchain.pem"),
        )
        self.assertEqual(stat.S_IMODE(os.stat(pair.keyPath).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(pair.keyPath)).st_mode), 0o700)
        with open(pair.keyPath, "rb") as f:
            self.assertEqual(f.read(), b"key")


class DescribeErrorTests(SynchronousTestCase):
    """
    Tests for the log line of a failed order.
    """

    def test_problemDocument(self) -> None:
        """
        An ACME problem document keeps its type and detail, and a rate limit
        is recognized.
        """
        failure = describeError(
            messages.Error.with_code("rateLimited", detail="too many certificates")
        )
        self.assertTrue(failure.rateLimited)
        self.assertIn("rateLimited", failure.reason)
        self.assertIn("too many certificates", failure.reason)
        other = describeError(messages.Error.with_code("unauthorized", detail="no"))
        self.assertFalse(other.rateLimited)
