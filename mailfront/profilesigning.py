"""
Which certificate signs Apple configuration profiles.

A configured signing certificate wins. Without one, profiles are signed with
the certificate mailfront serves over HTTPS for the requested host name, so a
profile downloaded from C{https://autoconfig.example.com/} is signed by the
certificate of that name. L{ProfileSigners.signerFor} is the one place that
chooses.
"""

from __future__ import annotations

import datetime
from typing import Callable, Optional

import attrs
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .render.appleprofile import ProfileSigner
from .tls import (
    CertificateError,
    CertificateStore,
    KeyPair,
    ServerCertificate,
    loadServerCertificate,
    lookupCertificate,
)

__all__ = ["ProfileSigners", "loadProfileSigner", "signerFromCertificate"]


def signerFromCertificate(certificate: ServerCertificate) -> Optional[ProfileSigner]:
    """
    Use a served certificate for signing, if its key can sign CMS here.

    @return: The signer, or C{None} for a key that is neither RSA nor ECDSA.
    """
    key = certificate.privateKey
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        return None
    return ProfileSigner(certificate=certificate.certificate, key=key, chain=certificate.chain)


def loadProfileSigner(pair: KeyPair, now: datetime.datetime) -> ProfileSigner:
    """
    Load a certificate, its chain and its key for signing profiles.

    The files get the same checks as an HTTPS certificate (readable, key
    matching the certificate, chain in order, not expired).

    @param now: The current time, to reject an expired certificate.
    @raise CertificateError: If the files cannot be used, or the key is
        neither RSA nor ECDSA (the only kinds CMS signing supports here).
    """
    loaded = loadServerCertificate(pair, now, requireNames=False)
    signer = signerFromCertificate(loaded)
    if signer is None:
        raise CertificateError(
            pair.keyPath,
            f"the private key is a {type(loaded.privateKey).__name__}; "
            "profiles can be signed only with an RSA or ECDSA key",
        )
    return signer


@attrs.frozen
class ProfileSigners:
    """
    The certificates available for signing profiles.

    @ivar configured: The certificate configured for signing profiles.
    @ivar https: A fixed HTTPS certificate, used when there is no store.
    @ivar certificates: Returns the current snapshot's certificate store, so
        the signer follows reloads and per-name certificates.
    """

    configured: Optional[ProfileSigner] = None
    https: Optional[ProfileSigner] = None
    certificates: Optional[Callable[[], Optional[CertificateStore]]] = None

    def signerFor(self, hostName: Optional[str]) -> Optional[ProfileSigner]:
        """
        Choose the signer of a profile requested from C{hostName}.

        @param hostName: The request's Host, without port, or C{None}.
        @return: The signer, or C{None} to serve the profile unsigned.
        """
        if self.configured is not None:
            return self.configured
        store = self.certificates() if self.certificates is not None else None
        if store is None:
            return self.https
        served = lookupCertificate(store, hostName) if hostName else None
        return signerFromCertificate(served or store.default)
