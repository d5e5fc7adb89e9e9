"""
A throwaway certificate hierarchy (root, intermediate, leaf) for tests that
sign profiles or serve HTTPS under a real host name.
"""

from __future__ import annotations

import datetime
import os
from typing import Optional, Sequence

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mailfront.render.appleprofile import ProfileSigner, SigningKey
from mailfront.tls import KeyPair

__all__ = ["CertificateChain", "makeChain"]


@attrs.frozen
class CertificateChain:
    """
    A root, an intermediate it signed, and a leaf the intermediate signed.
    """

    root: x509.Certificate
    intermediate: x509.Certificate
    leaf: x509.Certificate
    leafKey: SigningKey

    def signer(self) -> ProfileSigner:
        """
        The leaf as a profile signer, with the intermediate as its chain.
        """
        return ProfileSigner(self.leaf, self.leafKey, (self.intermediate,))

    def write(self, directory: str) -> tuple[KeyPair, str]:
        """
        Write the leaf's full chain and key, and the root, as PEM files.

        @return: The key pair of the leaf, and the path of the root.
        """
        os.makedirs(directory, exist_ok=True)
        pair = KeyPair(
            os.path.join(directory, "fullchain.pem"), os.path.join(directory, "leaf.key")
        )
        rootPath = os.path.join(directory, "root.pem")
        with open(pair.certificatePath, "wb") as f:
            for certificate in (self.leaf, self.intermediate):
                f.write(certificate.public_bytes(serialization.Encoding.PEM))
        with open(pair.keyPath, "wb") as f:
            f.write(
                self.leafKey.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        with open(rootPath, "wb") as f:
            f.write(self.root.public_bytes(serialization.Encoding.PEM))
        return pair, rootPath


def _name(commonName: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, commonName)])


def _certificate(
    subject: str,
    subjectKey: SigningKey,
    issuer: str,
    issuerKey: ec.EllipticCurvePrivateKey,
    now: datetime.datetime,
    ca: bool,
    dnsNames: Sequence[str] = (),
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(subjectKey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dnsNames]),
            critical=False,
        ).add_extension(
            # Server authentication only, like a certificate from a public
            # TLS authority.
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
    return builder.sign(issuerKey, hashes.SHA256())


def makeChain(
    dnsNames: Sequence[str] = ("autoconfig.example.com",),
    leafKey: Optional[SigningKey] = None,
) -> CertificateChain:
    """
    Generate a fresh root, intermediate and leaf, valid from an hour ago for
    30 days.

    @param dnsNames: The names the leaf covers.
    @param leafKey: The leaf's key; a new ECDSA P-256 key when C{None}.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    rootKey = ec.generate_private_key(ec.SECP256R1())
    intermediateKey = ec.generate_private_key(ec.SECP256R1())
    if leafKey is None:
        leafKey = ec.generate_private_key(ec.SECP256R1())
    root = _certificate("Test Root", rootKey, "Test Root", rootKey, now, ca=True)
    intermediate = _certificate(
        "Test Intermediate", intermediateKey, "Test Root", rootKey, now, ca=True
    )
    leaf = _certificate(
        dnsNames[0], leafKey, "Test Intermediate", intermediateKey, now, ca=False,
        dnsNames=dnsNames,
    )
    return CertificateChain(root, intermediate, leaf, leafKey)
