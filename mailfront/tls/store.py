"""
The certificate store: every certificate the HTTPS listeners serve, indexed
by host name, and the loader that builds a store when a snapshot is built.

Certificates come from three places: the certificate directory that the
operator fills, the certificates obtained over ACME, and the default
certificate that is served for every name nothing else covers.
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping, Optional, Sequence

import attrs

from .pem import CertificateError, KeyPair, ServerCertificate, wildcardParent

__all__ = [
    "CertificateStore",
    "CertificateSources",
    "LoadedCertificates",
    "scanCertificateDirectory",
    "acmeCertificatePair",
    "normalizeServerName",
    "lookupCertificate",
]

#: File name endings of certificate files in the certificate directory.
CERTIFICATE_SUFFIXES = (".pem", ".crt")
KEY_SUFFIX = ".key"

#: The files of one certificate in a subdirectory, named as certbot names
#: them in C{/etc/letsencrypt/live/NAME/}, and as mailfront stores the
#: certificates it obtains over ACME.
FULLCHAIN = "fullchain.pem"
PRIVKEY = "privkey.pem"


def normalizeServerName(raw: Optional[bytes]) -> Optional[str]:
    """
    Convert the server name a TLS client sent to the form certificates are
    indexed by: lower case, without a trailing dot.

    @return: The name, or C{None} if the client sent none or sent bytes
        that are not an ASCII host name.
    """
    if not raw:
        return None
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return name.rstrip(".").lower() or None


class CertificateStore:
    """
    An immutable index of certificates by the host names they cover.

    Lookups prefer an exact name to a wildcard. Among certificates of the
    same kind, one from the certificate directory beats one obtained over
    ACME, because the operator placed it there on purpose, and a later
    expiry beats an earlier one.

    @ivar default: The certificate for names that nothing else covers.
    @ivar directory: Certificates from the certificate directory.
    @ivar acme: Certificates obtained over ACME, by registry domain.
    """

    def __init__(
        self,
        default: ServerCertificate,
        directory: Sequence[ServerCertificate] = (),
        acme: Mapping[str, ServerCertificate] = {},
    ) -> None:
        self.default = default
        self.directory = tuple(directory)
        self.acme = dict(acme)
        self._exact: dict[str, ServerCertificate] = {}
        self._wildcard: dict[str, ServerCertificate] = {}
        # Later entries replace earlier ones, so index the least preferred
        # first: ACME, then directory certificates by ascending expiry.
        ranked = list(self.acme.values())
        ranked += sorted(self.directory, key=lambda c: c.notAfter)
        for certificate in ranked:
            for name in certificate.names:
                if name.startswith("*."):
                    self._wildcard[name[2:]] = certificate
                else:
                    self._exact[name] = certificate

    def match(self, name: str) -> Optional[ServerCertificate]:
        """
        Find the certificate that covers a host name.

        This is the lookup for other users of the server's certificates,
        such as signing configuration profiles for a domain's host.

        @param name: A lower-case A-label host name without trailing dot.
        @return: The certificate, with its chain and private key, or C{None}
            when only the default certificate would be served.
        """
        found = self._exact.get(name)
        if found is not None:
            return found
        parent = wildcardParent(name)
        if parent is None:
            return None
        return self._wildcard.get(parent)

    def select(self, name: Optional[str]) -> ServerCertificate:
        """
        Choose the certificate to serve for a TLS server name: the one that
        covers it, or the default one for an unknown or missing name.
        """
        if name is None:
            return self.default
        return self.match(name) or self.default

    def withAcme(self, domain: str, certificate: ServerCertificate) -> CertificateStore:
        """
        Return a copy in which C{certificate} is the ACME certificate of
        C{domain}.
        """
        acme = dict(self.acme)
        acme[domain] = certificate
        return CertificateStore(self.default, self.directory, acme)

    def uncoveredNames(self, names: Iterable[str]) -> list[str]:
        """
        List the names that only the default certificate would serve.
        """
        return [name for name in names if self.match(name) is None]


def lookupCertificate(
    store: Optional[CertificateStore], hostName: str
) -> Optional[ServerCertificate]:
    """
    Find the certificate, chain and private key that serve a host name.

    For code that acts with a host's TLS identity outside a handshake, such
    as signing a configuration profile for C{autoconfig.example.com}. Pass
    the current snapshot's store: C{holder.current.certificates}.

    @param hostName: A host name in any letter case, with or without a
        trailing dot.
    @return: The certificate that covers the name, or C{None} if only the
        default certificate would be served or there is no store.
    """
    if store is None:
        return None
    return store.match(hostName.rstrip(".").lower())


@attrs.frozen
class CertificateSources:
    """
    The sources of a store's certificates.

    @ivar defaultPair: The default certificate's files, or C{None} for the
        self-signed certificate kept in C{stateDirectory}.
    @ivar stateDirectory: Where the self-signed certificate is generated.
    @ivar certificateDirectory: The operator's certificate directory, or
        C{None}.
    @ivar acmeDirectory: Where certificates obtained over ACME are stored,
        or C{None} when ACME is off.
    @ivar labels: The labels put before each registry domain to form the
        host names that clients connect to, such as C{autoconfig}.
    """

    defaultPair: Optional[KeyPair] = None
    stateDirectory: str = "mailfront-state"
    certificateDirectory: Optional[str] = None
    acmeDirectory: Optional[str] = None
    labels: tuple[str, ...] = ("autoconfig", "autodiscover")

    def hostNames(self, domain: str) -> list[str]:
        """
        Return the host names that clients use for a registry domain.
        """
        return [f"{label}.{domain}" for label in self.labels]


@attrs.frozen
class LoadedCertificates:
    """
    The result of loading a store.

    @ivar store: The new store.
    @ivar problems: Every file that could not be used, with the reason.
    @ivar kept: The problem files whose previously loaded certificate is
        still served, because a bad file never replaces a good one.
    @ivar uncovered: Host names of registry domains that only the default
        certificate serves.
    @ivar generatedSelfSigned: Whether a new self-signed default certificate
        was written.
    """

    store: CertificateStore
    problems: tuple[CertificateError, ...]
    kept: tuple[str, ...]
    uncovered: tuple[str, ...]
    generatedSelfSigned: bool = False


def scanCertificateDirectory(directory: str) -> tuple[list[KeyPair], list[CertificateError]]:
    """
    Find the certificates of a certificate directory.

    Each of these, directly inside C{directory}, is one certificate:
      - C{NAME.pem} or C{NAME.crt}, a full chain, with its private key in
        the same file or in C{NAME.key};
      - a subdirectory with C{fullchain.pem} and C{privkey.pem}, the layout
        of certbot's C{live} directory.
    Hidden entries are skipped, as are files with other endings (such as a
    C{README}).

    @return: The key pairs found, and the problems found while looking.
    """
    problems: list[CertificateError] = []
    try:
        entries = sorted(os.listdir(directory))
    except OSError as e:
        return [], [CertificateError(directory, f"cannot read the certificate directory: {e.strerror}")]

    pairs: list[KeyPair] = []
    usedKeys: set[str] = set()
    for entry in entries:
        if entry.startswith("."):
            continue
        path = os.path.join(directory, entry)
        if os.path.isdir(path):
            pair = _subdirectoryPair(path)
            if pair is None:
                problems.append(
                    CertificateError(path, f"a subdirectory needs {FULLCHAIN} and {PRIVKEY}")
                )
            else:
                pairs.append(pair)
            continue
        stem, suffix = os.path.splitext(entry)
        if suffix not in CERTIFICATE_SUFFIXES:
            continue
        keyPath = os.path.join(directory, stem + KEY_SUFFIX)
        if os.path.exists(keyPath):
            usedKeys.add(keyPath)
            pairs.append(KeyPair(path, keyPath))
        else:
            pairs.append(KeyPair(path, path))

    for entry in entries:
        path = os.path.join(directory, entry)
        if entry.endswith(KEY_SUFFIX) and not entry.startswith(".") and path not in usedKeys:
            problems.append(
                CertificateError(
                    path, "a private key without a certificate; name its certificate "
                    f"{entry[: -len(KEY_SUFFIX)]}.pem"
                )
            )
    return pairs, problems


def _subdirectoryPair(path: str) -> Optional[KeyPair]:
    chain, key = os.path.join(path, FULLCHAIN), os.path.join(path, PRIVKEY)
    if os.path.exists(chain) and os.path.exists(key):
        return KeyPair(chain, key)
    return None


def acmeCertificatePair(acmeDirectory: str, domain: str) -> KeyPair:
    """
    Return the files of the ACME certificate of a registry domain.
    """
    folder = os.path.join(acmeDirectory, "certificates", domain)
    return KeyPair(os.path.join(folder, FULLCHAIN), os.path.join(folder, PRIVKEY))
