"""
Tests for the HTTPS listener's choice of certificate by server name, over
real TLS connections on 127.0.0.1.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl
from typing import Optional

import attrs
from cryptography import x509
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.interfaces import IListeningPort
from twisted.internet.threads import deferToThread
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mailfront.registry import Registry
from mailfront.service import buildSite
from mailfront.snapshot import SnapshotHolder, buildSnapshot
from mailfront.tls import (
    CertificateStore,
    InvalidPolicy,
    SNIConnectionCreator,
    TLSPolicy,
    loadServerCertificate,
)
from mailfront.tls.pem import KeyPair, ServerCertificate

from .certificates import TestAuthority, writePEM

#: The certificates of these tests are valid around the real current time,
#: because the TLS client checks them against the clock.
NOW = datetime.datetime.now(datetime.timezone.utc)


@attrs.frozen
class Handshake:
    """
    What a TLS client saw.
    """

    certificate: x509.Certificate
    version: str
    connection: ssl.SSLSocket


def _certificate(authority: TestAuthority, directory: str, names: list[str]) -> ServerCertificate:
    issued = authority.issue(names)
    stem = os.path.join(directory, names[0])
    chain = writePEM(stem + ".pem", authority.fullchain(issued))
    key = writePEM(stem + ".key", issued.keyPEM())
    return loadServerCertificate(KeyPair(chain, key), NOW)


class SNITestsMixin:
    """
    Starts an HTTPS listener that serves from a L{SnapshotHolder}.
    """

    def startListener(self, store: CertificateStore, policy: TLSPolicy = TLSPolicy()) -> None:
        self.holder = SnapshotHolder(
            buildSnapshot(Registry(providers={}, domains={}), 1, certificates=store)
        )
        creator = SNIConnectionCreator(lambda: self.holder.current.certificates, policy)  # type: ignore[arg-type,return-value]
        factory = TLSMemoryBIOFactory(creator, False, buildSite(self.holder, reactor))  # type: ignore[arg-type]
        port: IListeningPort = reactor.listenTCP(0, factory, interface="127.0.0.1")  # type: ignore[attr-defined]
        self.addCleanup(port.stopListening)  # type: ignore[attr-defined]
        self.port = port.getHost().port  # type: ignore[attr-defined]

    def connect(self, serverName: Optional[str], context: Optional[ssl.SSLContext] = None) -> Handshake:
        """
        Complete a handshake in a worker thread, without verification.
        """
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            connection = context.wrap_socket(raw, server_hostname=serverName)
        except BaseException:
            raw.close()
            raise
        der = connection.getpeercert(binary_form=True)
        assert der is not None
        return Handshake(x509.load_der_x509_certificate(der), connection.version() or "", connection)


def _get(connection: ssl.SSLSocket, host: str) -> bytes:
    connection.sendall(
        f"GET /nothing-here HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    )
    response = b""
    while chunk := connection.recv(65536):
        response += chunk
    connection.close()
    return response


class SNIConnectionCreatorTests(SNITestsMixin, TestCase):
    """
    Tests for L{SNIConnectionCreator} with real TLS clients.
    """

    def setUp(self) -> None:
        directory = self.mktemp()
        os.makedirs(directory)
        self.directory = directory
        self.authority = TestAuthority(NOW)
        self.default = _certificate(self.authority, directory, ["default.invalid"])
        self.one = _certificate(self.authority, directory, ["autoconfig.one.example"])
        self.wild = _certificate(self.authority, directory, ["*.two.example"])
        self.startListener(CertificateStore(self.default, [self.one, self.wild]))

    @inlineCallbacks
    def test_selectsByServerName(self):  # type: ignore[no-untyped-def]
        """
        Each server name gets its certificate: exact, wildcard, and the
        default for unknown or missing names, and the handshake succeeds
        in every case.
        """
        cases = [
            ("autoconfig.one.example", self.one),
            ("AUTOCONFIG.ONE.EXAMPLE", self.one),
            ("autodiscover.two.example", self.wild),
            ("unknown.example", self.default),
            (None, self.default),
        ]
        for serverName, expected in cases:
            handshake = yield deferToThread(self.connect, serverName)
            handshake.connection.close()
            self.assertEqual(handshake.certificate, expected.certificate, serverName)

    @inlineCallbacks
    def test_verifiedChain(self):  # type: ignore[no-untyped-def]
        """
        A client that trusts only the root verifies the served chain and the
        host name, so the intermediate is sent after the leaf.
        """
        root = writePEM(os.path.join(self.directory, "root.pem"), self.authority.root.certificatePEM())
        context = ssl.create_default_context(cafile=root)
        handshake = yield deferToThread(self.connect, "autoconfig.one.example", context)
        response = yield deferToThread(_get, handshake.connection, "autoconfig.one.example")
        self.assertTrue(response.startswith(b"HTTP/1.1 404 "), response[:100])

    @inlineCallbacks
    def test_unknownNameCleanAnswer(self):  # type: ignore[no-untyped-def]
        """
        A connection with an unknown server name gets the default
        certificate and a normal HTTP answer.
        """
        handshake = yield deferToThread(self.connect, "unknown.example")
        self.assertEqual(handshake.certificate, self.default.certificate)
        response = yield deferToThread(_get, handshake.connection, "unknown.example")
        self.assertTrue(response.startswith(b"HTTP/1.1 404 "), response[:100])
        self.assertIn(b"\r\n\r\nnot found\n", response)

    @inlineCallbacks
    def test_swapKeepsOpenConnections(self):  # type: ignore[no-untyped-def]
        """
        After a snapshot swap with a new certificate, new connections get it
        while a connection opened before keeps working.
        """
        before = yield deferToThread(self.connect, "autoconfig.one.example")
        renewed = _certificate(self.authority, self.directory, ["autoconfig.one.example"])
        current = self.holder.current
        self.holder.swap(
            attrs.evolve(current, certificates=CertificateStore(self.default, [renewed]))
        )

        after = yield deferToThread(self.connect, "autoconfig.one.example")
        after.connection.close()
        self.assertEqual(after.certificate, renewed.certificate)
        self.assertEqual(before.certificate, self.one.certificate)
        response = yield deferToThread(_get, before.connection, "autoconfig.one.example")
        self.assertTrue(response.startswith(b"HTTP/1.1 404 "), response[:100])


class TLSPolicyTests(SNITestsMixin, TestCase):
    """
    Tests for the protocol versions and ciphers the listener accepts.
    """

    def setUp(self) -> None:
        directory = self.mktemp()
        os.makedirs(directory)
        self.default = _certificate(TestAuthority(NOW), directory, ["default.invalid"])

    def client(self, minimum: ssl.TLSVersion, maximum: ssl.TLSVersion, ciphers: str) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        # Let the client offer old versions and ciphers so that the server
        # is the one that rejects them.
        context.set_ciphers(ciphers + ":@SECLEVEL=0")
        context.minimum_version = minimum
        context.maximum_version = maximum
        return context

    @inlineCallbacks
    def assertRejected(self, context: ssl.SSLContext, reason: str):  # type: ignore[no-untyped-def]
        try:
            handshake = yield deferToThread(self.connect, "a.example", context)
        except ssl.SSLError as e:
            self.assertEqual(e.reason, reason)
        else:
            handshake.connection.close()
            self.fail(f"handshake succeeded with {handshake.version}")

    @inlineCallbacks
    def test_defaults(self):  # type: ignore[no-untyped-def]
        """
        By default TLS 1.2 with an ECDHE AEAD cipher works, while TLS 1.1
        and TLS 1.2 with static RSA or CBC ciphers are rejected by the server.
        """
        self.startListener(CertificateStore(self.default))
        good = self.client(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-GCM-SHA256")
        handshake = yield deferToThread(self.connect, "a.example", good)
        handshake.connection.close()
        self.assertEqual(handshake.version, "TLSv1.2")

        old = self.client(ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1, "ALL")
        yield self.assertRejected(old, "TLSV1_ALERT_PROTOCOL_VERSION")
        for weak in ("ECDHE-ECDSA-AES128-SHA", "AES128-GCM-SHA256"):
            context = self.client(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, weak)
            yield self.assertRejected(context, "SSLV3_ALERT_HANDSHAKE_FAILURE")

    @inlineCallbacks
    def test_minimumVersion13(self):  # type: ignore[no-untyped-def]
        """
        With the minimum version set to 1.3, TLS 1.2 clients are rejected.
        """
        self.startListener(CertificateStore(self.default), TLSPolicy(minimumVersion="1.3"))
        context = self.client(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, "ALL")
        yield self.assertRejected(context, "TLSV1_ALERT_PROTOCOL_VERSION")
        handshake = yield deferToThread(self.connect, "a.example")
        handshake.connection.close()
        self.assertEqual(handshake.version, "TLSv1.3")


class TLSPolicyCheckTests(SynchronousTestCase):
    """
    Tests for L{TLSPolicy.check}.
    """

    def test_invalid(self) -> None:
        """
        An unknown version or a cipher string that selects nothing is
        reported with the value.
        """
        error = self.assertRaises(InvalidPolicy, TLSPolicy(minimumVersion="1.1").check)
        self.assertIn("'1.1'", str(error))
        error = self.assertRaises(InvalidPolicy, TLSPolicy(ciphers="NO-SUCH-CIPHER").check)
        self.assertIn("NO-SUCH-CIPHER", str(error))
