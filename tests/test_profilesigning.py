"""
Tests for loading the profile signing certificate, the twistd options that
configure it and the setup path, and which certificate the built service
signs with.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from treq.testing import StubTreq
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from mailfront.profilesigning import loadProfileSigner
from mailfront.registry import loadDirectory
from mailfront.service import ServiceConfig, makeMailfrontService
from mailfront.tap import Options
from mailfront.tls import CertificateError, KeyPair

from .running import EXAMPLE_CONFIG
from .signingchain import makeChain


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class LoadProfileSignerTests(SynchronousTestCase):
    """
    L{loadProfileSigner} reads a full chain and its key, or raises an error
    that names the problem.
    """

    def test_fullChain(self) -> None:
        """
        The first certificate of the file signs and the rest form the chain.
        """
        chain = makeChain()
        pair, _ = chain.write(self.mktemp())
        signer = loadProfileSigner(pair, _now())
        self.assertEqual(signer.certificate, chain.leaf)
        self.assertEqual(signer.chain, (chain.intermediate,))

    def test_keyMismatch(self) -> None:
        """
        A key that belongs to another certificate is rejected.
        """
        pair, _ = makeChain().write(self.mktemp())
        otherPair, _ = makeChain().write(self.mktemp())
        error = self.assertRaises(
            CertificateError, loadProfileSigner, KeyPair(pair.certificatePath, otherPair.keyPath),
            _now(),
        )
        self.assertIn("does not match", str(error))

    def test_missingFile(self) -> None:
        """
        A missing file is named in the error.
        """
        error = self.assertRaises(
            CertificateError, loadProfileSigner, KeyPair("/nonexistent.pem", "/nonexistent.key"),
            _now(),
        )
        self.assertIn("/nonexistent.pem", str(error))

    def test_ed25519(self) -> None:
        """
        An Ed25519 key, which the CMS builder cannot use, is rejected with
        the key types that work.
        """
        key = ed25519.Ed25519PrivateKey.generate()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ed25519.example")])
        now = _now()
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, None)
        )
        directory = self.mktemp()
        os.makedirs(directory)
        pair = KeyPair(os.path.join(directory, "c.pem"), os.path.join(directory, "k.pem"))
        with open(pair.certificatePath, "wb") as f:
            f.write(certificate.public_bytes(serialization.Encoding.PEM))
        with open(pair.keyPath, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        error = self.assertRaises(CertificateError, loadProfileSigner, pair, now)
        self.assertIn("only with an RSA or ECDSA key", str(error))


class OptionsTests(SynchronousTestCase):
    """
    The twistd options for profile signing and the setup path.
    """

    def parse(self, *arguments: str) -> Options:
        options = Options()
        options.parseOptions(["--config", EXAMPLE_CONFIG, *arguments])
        return options

    def test_signingPair(self) -> None:
        """
        The signing certificate and key reach the service configuration.
        """
        config = self.parse("--profile-signing-certificate", "/etc/p.pem",
                            "--profile-signing-key", "/etc/p.key").serviceConfig()
        self.assertEqual(config.profileSigningKeyPair, KeyPair("/etc/p.pem", "/etc/p.key"))
        self.assertIsNone(self.parse().serviceConfig().profileSigningKeyPair)

    def test_signingPairIncomplete(self) -> None:
        """
        A signing certificate without its key is a usage error.
        """
        error = self.assertRaises(usage.UsageError, self.parse,
                                  "--profile-signing-certificate", "/etc/p.pem")
        self.assertIn("must be given together", str(error))

    def test_setupPath(self) -> None:
        """
        The setup path defaults to C{/setup} and accepts another path.
        """
        self.assertEqual(self.parse().serviceConfig().setupPath, "/setup")
        self.assertEqual(self.parse("--setup-path", "/mail/help").serviceConfig().setupPath,
                         "/mail/help")

    def test_setupPathInvalid(self) -> None:
        """
        A relative path, a query, the root and another endpoint's path are
        usage errors.
        """
        for value in ("setup", "/setup?x=1", "/", "/Mail/Config-v1.1.xml",
                      "/apple/mail.mobileconfig"):
            self.assertRaises(usage.UsageError, self.parse, "--setup-path", value)


def _site(service: Any) -> Any:
    for child in service:
        if isinstance(child, StreamServerEndpointService):
            return child.factory
    raise AssertionError("no listener")


class ServiceSignerTests(SynchronousTestCase):
    """
    The built service signs profiles with the configured certificate, else
    with the HTTPS certificate, and serves them unsigned without either.
    """

    def signedBy(self, config: ServiceConfig) -> list[x509.Certificate]:
        clock = MemoryReactorClock()
        clock.advance(_now().timestamp())
        service = makeMailfrontService(config, clock, registry=loadDirectory(EXAMPLE_CONFIG))
        treq = StubTreq(_site(service).resource)
        response = self.successResultOf(treq.get(
            "https://autoconfig.example.com/apple/mail.mobileconfig?emailaddress=fred%40example.com"
        ))
        body = self.successResultOf(response.content())
        self.assertEqual(response.code, 200, body)
        if body.startswith(b"<?xml"):
            return []
        return pkcs7.load_der_pkcs7_certificates(body)

    def test_configured(self) -> None:
        """
        A configured signing certificate wins over the HTTPS certificate.
        """
        signing, https = makeChain(("profiles.example.com",)), makeChain()
        signingPair, _ = signing.write(self.mktemp())
        httpsPair, _ = https.write(self.mktemp())
        config = ServiceConfig(http=("tcp:0",), https=("tcp:0",), keyPair=httpsPair,
                               profileSigningKeyPair=signingPair, stateDirectory=self.mktemp())
        self.assertIn(signing.leaf, self.signedBy(config))

    def test_httpsCertificate(self) -> None:
        """
        Without a signing certificate, the HTTPS certificate signs.
        """
        https = makeChain()
        httpsPair, _ = https.write(self.mktemp())
        config = ServiceConfig(http=("tcp:0",), https=("tcp:0",), keyPair=httpsPair,
                               stateDirectory=self.mktemp())
        self.assertEqual(set(self.signedBy(config)), {https.leaf, https.intermediate})

    def test_selfSigned(self) -> None:
        """
        Without any configured certificate, the generated self-signed HTTPS
        certificate signs.
        """
        state = self.mktemp()
        config = ServiceConfig(http=("tcp:0",), https=("tcp:0",), stateDirectory=state)
        [certificate] = self.signedBy(config)
        with open(os.path.join(state, "self-signed.pem"), "rb") as f:
            self.assertEqual(certificate, x509.load_pem_x509_certificate(f.read()))

    def test_noCertificate(self) -> None:
        """
        Without HTTPS listeners and certificates, profiles are unsigned.
        """
        config = ServiceConfig(http=("tcp:0",), https=(), stateDirectory=self.mktemp())
        self.assertEqual(self.signedBy(config), [])
