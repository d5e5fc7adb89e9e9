"""
Which certificate signs Apple configuration profiles.

A configured signing certificate wins. Without one, profiles are signed with
the certificate mailfront serves over HTTPS, so a profile downloaded from
C{https://autoconfig.example.com/} is signed by the certificate of that name.
L{ProfileSigners.signerFor} is the one place that chooses.
"""

from __future__ import annotations

import datetime
from typing import Optional

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .render.appleprofile import ProfileSigner
from .tls import CertificateError, KeyPair, loadKeyPair

__all__ = ["ProfileSigners", "loadProfileSigner"]


def loadProfileSigner(pair: KeyPair, now: datetime.datetime) -> ProfileSigner:
    """
    Load a certificate, its chain and its key for signing profiles.

    The files get the same checks as the HTTPS certificate (readable, key
    matching the certificate, not expired).

    @param now: The current time, to reject an expired certificate.
    @raise CertificateError: If the files cannot be used, or the key is
        neither RSA nor ECDSA (the only kinds CMS signing supports here).
    """
    loadKeyPair(pair, now)
    with open(pair.certificatePath, "rb") as f:
        chain = x509.load_pem_x509_certificates(f.read())
    with open(pair.keyPath, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise CertificateError(
            f"the private key {pair.keyPath} is a {type(key).__name__}; "
            "profiles can be signed only with an RSA or ECDSA key"
        )
    return ProfileSigner(certificate=chain[0], key=key, chain=tuple(chain[1:]))


@attrs.frozen
class ProfileSigners:
    """
    The certificates available for signing profiles.

    @ivar configured: The certificate configured for signing profiles.
    @ivar https: The certificate of the HTTPS listeners.
    """

    configured: Optional[ProfileSigner] = None
    https: Optional[ProfileSigner] = None

    def signerFor(self, hostName: Optional[str]) -> Optional[ProfileSigner]:
        """
        Choose the signer of a profile requested from C{hostName}.

        @param hostName: The request's Host, without port; unused while
            mailfront serves one HTTPS certificate for every name.
        @return: The signer, or C{None} to serve the profile unsigned.
        """
        # TODO: with a certificate per host name, choose the HTTPS
        # certificate that covers hostName; today one certificate serves all.
        return self.configured or self.https
