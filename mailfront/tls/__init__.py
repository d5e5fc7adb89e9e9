"""
TLS for the HTTPS listeners: certificates chosen by server name from a
certificate directory, from ACME and from a default certificate.

L{lookupCertificate} is the lookup for anything else that needs a host's
certificate, chain and private key.
"""

from .load import loadCertificateStore
from .pem import CertificateError, KeyPair, ServerCertificate, loadServerCertificate
from .selfsigned import ensureSelfSigned
from .sni import DEFAULT_CIPHERS, InvalidPolicy, SNIConnectionCreator, TLSPolicy
from .store import CertificateSources, CertificateStore, LoadedCertificates, lookupCertificate

__all__ = [
    "CertificateError",
    "CertificateSources",
    "CertificateStore",
    "DEFAULT_CIPHERS",
    "InvalidPolicy",
    "KeyPair",
    "LoadedCertificates",
    "SNIConnectionCreator",
    "ServerCertificate",
    "TLSPolicy",
    "ensureSelfSigned",
    "loadCertificateStore",
    "loadServerCertificate",
    "lookupCertificate",
]
