"""
Certificates made on the fly for tests: a CA, leaf certificates issued by
it, and PEM files of them.
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Optional, Sequence

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["TestAuthority", "Issued", "NOW", "writePEM"]

#: A fixed current time for unit tests.
NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)


@attrs.frozen
class Issued:
    """
    A certificate and its private key.
    """

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def certificatePEM(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def keyPEM(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


class TestAuthority:
    """
    A root CA with one intermediate CA, both valid around C{now}.
    """

    def __init__(self, now: datetime.datetime = NOW, name: str = "mailfront test") -> None:
        self.now = now
        rootKey = ec.generate_private_key(ec.SECP256R1())
        rootName = _name(f"{name} root")
        self.root = Issued(self._sign(rootName, rootName, rootKey.public_key(), rootKey), rootKey)
        intermediateKey = ec.generate_private_key(ec.SECP256R1())
        self.intermediate = Issued(
            self._sign(
                _name(f"{name} intermediate"), rootName, intermediateKey.public_key(), rootKey
            ),
            intermediateKey,
        )

    def _sign(
        self,
        subject: x509.Name,
        issuer: x509.Name,
        publicKey: ec.EllipticCurvePublicKey,
        signer: ec.EllipticCurvePrivateKey,
        ca: bool = True,
        names: Sequence[str] = (),
        addresses: Sequence[str] = (),
        notBefore: Optional[datetime.datetime] = None,
        notAfter: Optional[datetime.datetime] = None,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(publicKey)
            .serial_number(x509.random_serial_number())
            .not_valid_before(notBefore or self.now - datetime.timedelta(days=1))
            .not_valid_after(notAfter or self.now + datetime.timedelta(days=89))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        alternatives: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        alternatives += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
        if alternatives:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(alternatives), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    def issue(
        self,
        names: Sequence[str],
        addresses: Sequence[str] = (),
        notBefore: Optional[datetime.datetime] = None,
        notAfter: Optional[datetime.datetime] = None,
    ) -> Issued:
        """
        Issue a server certificate from the intermediate CA.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        common = names[0] if names else "no names"
        certificate = self._sign(
            _name(common),
            self.intermediate.certificate.subject,
            key.public_key(),
            self.intermediate.key,
            ca=False,
            names=names,
            addresses=addresses,
            notBefore=notBefore,
            notAfter=notAfter,
        )
        return Issued(certificate, key)

    def fullchain(self, leaf: Issued) -> bytes:
        """
        Return the PEM of C{leaf} followed by the intermediate.
        """
        return leaf.certificatePEM() + self.intermediate.certificatePEM()


def writePEM(path: str, *parts: bytes) -> str:
    """
    Write PEM blocks to C{path} and return it.
    """
    with open(path, "wb") as f:
        f.write(b"".join(parts))
    return path
