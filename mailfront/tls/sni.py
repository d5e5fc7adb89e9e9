"""
One HTTPS listener for every host name: the certificate is chosen by the
server name the client sends (SNI), in OpenSSL's server-name callback.

The callback reads the current snapshot's L{CertificateStore}, so a reload
that swaps the snapshot changes the certificates of new connections while
open connections go on with theirs.
"""

from __future__ import annotations

from typing import Callable

import attrs
from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from zope.interface import implementer

from .pem import ServerCertificate
from .store import CertificateStore, normalizeServerName

__all__ = ["TLSPolicy", "SNIConnectionCreator", "DEFAULT_CIPHERS", "TLS_VERSIONS"]

#: Cipher suites for TLS 1.2: ECDHE key exchange and AEAD ciphers only,
#: which excludes static RSA key exchange, CBC modes, RC4, 3DES and SHA-1
#: MACs. TLS 1.3 suites are not set by this string; all of them are strong.
DEFAULT_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)

#: Accepted values of the minimum TLS version.
TLS_VERSIONS = {"1.2": SSL.TLS1_2_VERSION, "1.3": SSL.TLS1_3_VERSION}


class InvalidPolicy(ValueError):
    """
    A TLS version or cipher string that OpenSSL cannot use.
    """


@attrs.frozen
class TLSPolicy:
    """
    The protocol versions and ciphers every HTTPS connection uses.

    @ivar minimumVersion: C{"1.2"} or C{"1.3"}.
    @ivar ciphers: An OpenSSL cipher string for TLS 1.2.
    """

    minimumVersion: str = "1.2"
    ciphers: str = DEFAULT_CIPHERS

    def check(self) -> None:
        """
        Build one context to find a version or cipher string that OpenSSL
        rejects.

        @raise InvalidPolicy: With the reason.
        """
        self.newContext()

    def newContext(self) -> SSL.Context:
        """
        Create a server context with this policy and no certificate.

        @raise InvalidPolicy: If the version is unknown or the cipher
            string selects no cipher.
        """
        version = TLS_VERSIONS.get(self.minimumVersion)
        if version is None:
            raise InvalidPolicy(
                f"unknown TLS version {self.minimumVersion!r}; use "
                + " or ".join(sorted(TLS_VERSIONS))
            )
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.set_min_proto_version(version)
        try:
            context.set_cipher_list(self.ciphers.encode("ascii"))
        except (SSL.Error, UnicodeEncodeError):
            raise InvalidPolicy(
                f"the cipher string {self.ciphers!r} selects no cipher OpenSSL knows"
            ) from None
        context.set_options(
            SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE | _NO_RENEGOTIATION
        )
        return context


#: Refuse TLS 1.2 renegotiation, which would run the handshake again
#: without the server-name callback.
_NO_RENEGOTIATION: int = getattr(SSL, "OP_NO_RENEGOTIATION", 0x40000000)


def certificateContext(certificate: ServerCertificate, policy: TLSPolicy) -> SSL.Context:
    """
    Return the OpenSSL context that serves C{certificate}, building it on
    first use.

    Contexts are built lazily because a store may hold thousands of
    certificates while most handshakes name a few of them.
    """
    context: SSL.Context | None = certificate.contexts.get(policy)
    if context is None:
        context = policy.newContext()
        context.use_certificate(certificate.certificate)
        context.use_privatekey(certificate.privateKey)
        for intermediate in certificate.chain:
            context.add_extra_chain_cert(intermediate)
        context.check_privatekey()
        certificate.contexts[policy] = context
    return context


@implementer(IOpenSSLServerConnectionCreator)
class SNIConnectionCreator:
    """
    Creates server TLS connections that pick their certificate by server
    name, for L{twisted.protocols.tls.TLSMemoryBIOFactory}.

    Every connection starts with one context that has the policy and no
    certificate. When the ClientHello arrives, OpenSSL calls the server-name
    callback, even when the client sent no name, and the callback switches
    the connection to the chosen certificate's context. An unknown or
    missing name gets the default certificate, never a failed handshake.

    @param currentStore: Return the store to choose from, such as the
        current snapshot's.
    """

    def __init__(self, currentStore: Callable[[], CertificateStore], policy: TLSPolicy) -> None:
        self._currentStore = currentStore
        self._policy = policy
        self._initial = policy.newContext()
        self._initial.set_tlsext_servername_callback(self._chooseCertificate)

    def serverConnectionForTLS(self, tlsProtocol: object) -> SSL.Connection:
        """
        Create the OpenSSL connection of one accepted TCP connection.
        """
        return SSL.Connection(self._initial, None)

    def _chooseCertificate(self, connection: SSL.Connection) -> None:
        name = normalizeServerName(connection.get_servername())
        certificate = self._currentStore().select(name)
        connection.set_context(certificateContext(certificate, self._policy))
