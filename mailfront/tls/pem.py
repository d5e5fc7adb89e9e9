"""
Reading and checking certificates: a leaf certificate, its chain and its
private key from PEM files, as one L{ServerCertificate}.

Every check happens here, once, when a snapshot is built: the key matches
the certificate, each certificate of the chain was issued by the next one,
the certificate is valid now, and it names at least one host. A handshake
only looks the result up.
"""

from __future__ import annotations

import datetime
from typing import Any, Optional

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

__all__ = [
    "CertificateError",
    "KeyPair",
    "ServerCertificate",
    "loadServerCertificate",
    "wildcardParent",
]

_PRIVATE_KEY_MARKER = b"PRIVATE KEY-----"


class CertificateError(Exception):
    """
    A certificate or key file that cannot be used.

    @ivar path: The file at fault.
    @ivar reason: What is wrong, in words for an operator.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@attrs.frozen
class KeyPair:
    """
    A certificate and its private key, as PEM files.

    @ivar certificatePath: The certificate file. It may contain the
        intermediate certificates after the leaf (a full chain), and the
        private key too, in which case C{keyPath} may name the same file.
    @ivar keyPath: The private key file.
    """

    certificatePath: str
    keyPath: str


@attrs.frozen(eq=False)
class ServerCertificate:
    """
    A checked certificate with its chain and private key, ready to serve.

    @ivar source: The certificate file it was read from, for messages.
    @ivar certificate: The leaf certificate.
    @ivar chain: The intermediate certificates, each issued by the next one,
        without the root.
    @ivar privateKey: The leaf's private key.
    @ivar names: The lower-case DNS names of the subject alternative name
        extension, wildcards such as C{*.example.com} included.
    """

    source: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    privateKey: CertificateIssuerPrivateKeyTypes
    names: frozenset[str]
    #: Built OpenSSL contexts by TLS policy; see L{mailfront.tls.sni}.
    contexts: dict[Any, Any] = attrs.field(factory=dict, init=False, repr=False)

    @property
    def notBefore(self) -> datetime.datetime:
        return self.certificate.not_valid_before_utc

    @property
    def notAfter(self) -> datetime.datetime:
        return self.certificate.not_valid_after_utc

    def renewalTime(self) -> datetime.datetime:
        """
        Return when a replacement should be obtained: when one third of the
        validity period is left, which is 30 days before expiry for the
        90-day certificates of Let's Encrypt.
        """
        return self.notAfter - (self.notAfter - self.notBefore) / 3

    def covers(self, name: str) -> bool:
        """
        Check whether this certificate is valid for a lower-case host name.

        A wildcard covers exactly one label: C{*.example.com} covers
        C{autoconfig.example.com} but neither C{example.com} nor
        C{a.b.example.com}.
        """
        if name in self.names:
            return True
        parent = wildcardParent(name)
        return parent is not None and "*." + parent in self.names


def wildcardParent(name: str) -> Optional[str]:
    """
    Return the name without its first label, which is what a wildcard
    certificate must name after C{*.} to cover C{name}; C{None} for a name
    of one label.
    """
    _, dot, parent = name.partition(".")
    return parent if dot and parent else None


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CertificateError(path, f"cannot read the {what}: {e.strerror}") from None


def _parseCertificates(path: str, data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertificateError(path, "contains no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise CertificateError(path, f"is not a valid PEM certificate file: {e}") from None


def _parseKey(path: str, data: bytes) -> CertificateIssuerPrivateKeyTypes:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CertificateError(
            path, "the private key is encrypted; store it without a passphrase"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as e:
        raise CertificateError(path, f"is not a valid PEM private key: {e}") from None
    return key  # type: ignore[return-value]


def _publicBytes(key: Any) -> bytes:
    data: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def _dnsNames(certificate: x509.Certificate) -> frozenset[str]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return frozenset()
    return frozenset(
        name.lower().rstrip(".") for name in extension.value.get_values_for_type(x509.DNSName)
    )


def _checkChain(path: str, certificates: list[x509.Certificate]) -> None:
    for index in range(len(certificates) - 1):
        child, issuer = certificates[index], certificates[index + 1]
        try:
            child.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            raise CertificateError(
                path,
                f"the chain is out of order: certificate {index + 2} "
                f"({issuer.subject.rfc4514_string()}) did not issue certificate {index + 1} "
                f"({child.subject.rfc4514_string()}); put the server certificate first, "
                "then each issuer in turn",
            ) from None


def _checkValidity(path: str, certificate: x509.Certificate, now: datetime.datetime) -> None:
    if certificate.not_valid_after_utc <= now:
        raise CertificateError(
            path,
            f"the certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; "
            "renew it",
        )
    if certificate.not_valid_before_utc > now:
        raise CertificateError(
            path,
            "the certificate is not valid before "
            f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC; check the clock",
        )


def loadServerCertificate(
    pair: KeyPair, now: datetime.datetime, requireNames: bool = True
) -> ServerCertificate:
    """
    Read and check a certificate, its chain and its private key.

    @param pair: The files. The key may be in the certificate file itself.
    @param now: The current time, to reject a certificate outside its
        validity period.
    @param requireNames: Reject a certificate without DNS names; off for
        the default certificate, which serves names no other one covers.
    @raise CertificateError: If a file is missing or unreadable, is not
        PEM, the key is encrypted or does not match the certificate, the
        chain is out of order, the certificate is expired or not yet valid,
        or it names no host while C{requireNames} is set.
    """
    chainPEM = _read(pair.certificatePath, "certificate file")
    certificates = _parseCertificates(pair.certificatePath, chainPEM)
    if pair.keyPath == pair.certificatePath:
        keyPEM = chainPEM
        if _PRIVATE_KEY_MARKER not in keyPEM:
            raise CertificateError(pair.certificatePath, "contains no private key")
    else:
        keyPEM = _read(pair.keyPath, "private key file")
    key = _parseKey(pair.keyPath, keyPEM)

    leaf = certificates[0]
    if _publicBytes(leaf.public_key()) != _publicBytes(key.public_key()):
        raise CertificateError(
            pair.keyPath,
            f"the private key does not match the certificate {pair.certificatePath}",
        )
    _checkChain(pair.certificatePath, certificates)
    _checkValidity(pair.certificatePath, leaf, now)
    names = _dnsNames(leaf)
    if requireNames and not names:
        raise CertificateError(
            pair.certificatePath,
            "the certificate names no host (no DNS name in its subject alternative "
            "names), so no client would accept it",
        )
    return ServerCertificate(
        source=pair.certificatePath,
        certificate=leaf,
        chain=tuple(certificates[1:]),
        privateKey=key,
        names=names,
    )
