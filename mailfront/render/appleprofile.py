"""
Apple configuration profiles (C{.mobileconfig}) for one email address.

Apple Mail on iPhone, iPad and Mac queries no discovery protocol, so a person
installs a profile instead. The profile is an XML property list with a mail
payload (C{com.apple.mail.managed}) and, where the registry lists them,
CalDAV and CardDAV payloads. Key names, value types and allowed values follow
Apple's published schemas (the C{mdm/profiles} folder of
github.com/apple/device-management).

Identifiers and UUIDs are derived from the domain, the address and the
payload kind with UUID version 5, so a second download of the same profile
replaces the installed one instead of adding a duplicate account. A profile
never contains a password: the device asks for it during installation.

L{signProfile} wraps a profile in a CMS SignedData structure, which devices
show as signed (and as verified when the chain leads to a root they trust).
"""

from __future__ import annotations

import plistlib
import re
import uuid
from typing import Any, Optional, Union
from urllib.parse import urlsplit

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from ..registry.model import Authentication, DavServer, DomainEntry, Server
from ..registry.names import toUnicode
from .account import Account, fillPlaceholders, fillURL, preferredServer

__all__ = [
    "CONTENT_TYPE",
    "PROFILE_NAMESPACE",
    "ProfileSigner",
    "ProfileUnavailable",
    "UnsupportedAddress",
    "buildProfile",
    "downloadFileName",
    "renderProfile",
    "signProfile",
]

#: Media type that makes Safari offer to install the profile instead of
#: showing its text. Signed and unsigned profiles share it.
CONTENT_TYPE = b"application/x-apple-aspen-config"

#: Namespace of every UUID mailfront derives for profiles. Changing it
#: changes every identifier, so devices would install duplicates.
PROFILE_NAMESPACE = uuid.UUID("6f1c2f0e-3a55-5b8e-9d2a-4d8f3c1b7e60")

#: Private key types the CMS builder of C{cryptography} can sign with.
SigningKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]

#: Autoconfig authentication values and the Apple value for each. Values
#: without an Apple equivalent (C{OAuth2}, C{GSSAPI}, C{TLS-client-cert})
#: are skipped in favor of the server's next method.
_AUTHENTICATION = {
    "password-cleartext": "EmailAuthPassword",
    "plain": "EmailAuthPassword",
    "password-encrypted": "EmailAuthCRAMMD5",
    "secure": "EmailAuthCRAMMD5",
    "NTLM": "EmailAuthNTLM",
    "none": "EmailAuthNone",
    "client-IP-address": "EmailAuthNone",
    "smtp-after-pop": "EmailAuthNone",
}

#: SASL mechanism names (upper case) and the Apple value for each.
_SASL_AUTHENTICATION = {
    "PLAIN": "EmailAuthPassword",
    "LOGIN": "EmailAuthPassword",
    "CRAM-MD5": "EmailAuthCRAMMD5",
    "NTLM": "EmailAuthNTLM",
}

#: Characters that XML 1.0 cannot carry, which plistlib would write anyway.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class ProfileUnavailable(LookupError):
    """
    A provider with nothing an Apple device can set up: no IMAP or POP3
    server with an SMTP server, and no CalDAV or CardDAV service.
    """


class UnsupportedAddress(ValueError):
    """
    An address that a property list cannot carry; the message gives the reason.
    """


@attrs.frozen
class ProfileSigner:
    """
    A certificate and key that sign profiles.

    @ivar certificate: The signing certificate.
    @ivar key: Its private key.
    @ivar chain: Intermediate certificates, leaf-side first, embedded so
        that devices can build the path to their trusted root.
    """

    certificate: x509.Certificate
    key: SigningKey
    chain: tuple[x509.Certificate, ...] = ()


def _profileUUID(account: Account, kind: str) -> uuid.UUID:
    # Local parts are case-sensitive in theory but almost never in practice.
    # Folding the case makes "Fred@" and "fred@" replace each other instead
    # of installing two accounts.
    name = "\n".join((account.domain, account.localPart.casefold(), kind))
    return uuid.uuid5(PROFILE_NAMESPACE, name)


def _identifierPrefix(account: Account) -> str:
    reversedDomain = ".".join(reversed(account.domain.split(".")))
    return f"{reversedDomain}.mailfront.{_profileUUID(account, 'profile').hex}"


def _payloadHeader(account: Account, kind: str, payloadType: str, name: str) -> dict[str, Any]:
    return {
        "PayloadType": payloadType,
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{_identifierPrefix(account)}.{kind}",
        "PayloadUUID": str(_profileUUID(account, kind)).upper(),
        "PayloadDisplayName": name,
    }


def appleAuthentication(methods: tuple[Authentication, ...]) -> str:
    """
    Translate a server's authentication list to the Apple value.

    @return: The Apple value of the first method that has one;
        C{EmailAuthPassword} when none has, because an Apple device cannot
        use the others (OAuth 2 for arbitrary servers, Kerberos, client
        certificates) from a profile and a password is the likely fallback.
    """
    for method in methods:
        if method.system == "sasl":
            value = _SASL_AUTHENTICATION.get(method.method.upper())
        elif method.system is None:
            value = _AUTHENTICATION.get(method.method)
        else:
            value = None
        if value is not None:
            return value
    return "EmailAuthPassword"


def _serverKeys(prefix: str, server: Server, account: Account) -> dict[str, Any]:
    assert server.hostname is not None and server.port is not None
    keys: dict[str, Any] = {
        f"{prefix}MailServerHostName": fillPlaceholders(server.hostname, account),
        f"{prefix}MailServerPortNumber": server.port,
        # NOTE: Apple documents one "use SSL" switch and no STARTTLS switch.
        # According to field reports (not verified here), Apple Mail uses
        # STARTTLS on ports 143, 110 and 587 when the switch is on, so
        # STARTTLS turns it on. preferredServer picks implicit TLS whenever
        # there is one.
        f"{prefix}MailServerUseSSL": server.socketType in ("SSL", "STARTTLS"),
        f"{prefix}MailServerAuthentication": appleAuthentication(server.authentication),
    }
    if server.username is not None:
        keys[f"{prefix}MailServerUsername"] = fillPlaceholders(server.username, account)
    return keys


def _mailPayload(entry: DomainEntry, account: Account, name: str) -> Optional[dict[str, Any]]:
    incoming = preferredServer(entry.provider.incoming, ("imap", "pop3"))
    outgoing = preferredServer(entry.provider.outgoing, ("smtp",))
    if incoming is None or outgoing is None:
        return None
    accountType = "EmailTypeIMAP" if incoming.type == "imap" else "EmailTypePOP"
    payload = _payloadHeader(account, "mail", "com.apple.mail.managed", f"{name} mail")
    payload.update(
        {
            "EmailAccountType": accountType,
            "EmailAccountDescription": name,
            "EmailAddress": account.address,
            "OutgoingPasswordSameAsIncomingPassword": True,
        }
    )
    payload.update(_serverKeys("Incoming", incoming, account))
    payload.update(_serverKeys("Outgoing", outgoing, account))
    return payload


def _davPayload(
    server: DavServer, account: Account, kind: str, prefix: str, name: str
) -> Optional[dict[str, Any]]:
    url = fillURL(server.url, account)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    secure = parts.scheme == "https"
    payloadType = f"com.apple.{prefix.lower()}.account"
    payload = _payloadHeader(account, kind, payloadType, name)
    payload[f"{prefix}AccountDescription"] = name
    payload[f"{prefix}HostName"] = parts.hostname
    payload[f"{prefix}Port"] = parts.port or (443 if secure else 80)
    payload[f"{prefix}UseSSL"] = secure
    if parts.path not in ("", "/"):
        # Without a principal URL the device looks the service up itself
        # (RFC 6764), which only works if the server redirects from
        # /.well-known/caldav or /.well-known/carddav.
        payload[f"{prefix}PrincipalURL"] = url
    if server.username is not None:
        payload[f"{prefix}Username"] = fillPlaceholders(server.username, account)
    return payload


def _davPayloads(entry: DomainEntry, account: Account, name: str) -> list[dict[str, Any]]:
    payloads = []
    for prefix, servers, label in (
        ("CalDAV", entry.provider.calendars, "calendar"),
        ("CardDAV", entry.provider.addressbooks, "contacts"),
    ):
        for index, server in enumerate(servers, start=1):
            kind = f"{prefix.lower()}.{index}"
            payload = _davPayload(server, account, kind, prefix, f"{name} {label}")
            if payload is not None:
                payloads.append(payload)
    return payloads


def _description(payloads: list[dict[str, Any]], displayAddress: str) -> str:
    kinds = {payload["PayloadType"] for payload in payloads}
    names = [
        label
        for payloadType, label in (
            ("com.apple.mail.managed", "mail"),
            ("com.apple.caldav.account", "calendar"),
            ("com.apple.carddav.account", "contacts"),
        )
        if payloadType in kinds
    ]
    if len(names) > 1:
        listed = ", ".join(names[:-1]) + " and " + names[-1]
    else:
        listed = names[0]
    return (
        f"Sets up {listed} for {displayAddress}. "
        "The profile contains no password: you type it during installation."
    )


def buildProfile(entry: DomainEntry, localPart: str) -> dict[str, Any]:
    """
    Build the property list of an address's profile.

    @param entry: The registry entry of the address's domain.
    @param localPart: The local part exactly as the person typed it.
    @return: The top-level dictionary, ready for C{plistlib}.
    @raise UnsupportedAddress: If the local part contains characters that
        XML cannot carry.
    @raise ProfileUnavailable: If the provider has nothing an Apple device
        can set up.
    """
    if _NOT_XML.search(localPart):
        raise UnsupportedAddress("the email address contains characters XML cannot carry")
    account = Account(localPart, entry.name)
    name = entry.provider.displayName or toUnicode(entry.name)
    displayAddress = f"{localPart}@{toUnicode(entry.name)}"

    payloads: list[dict[str, Any]] = []
    mail = _mailPayload(entry, account, name)
    if mail is not None:
        payloads.append(mail)
    payloads.extend(_davPayloads(entry, account, name))
    if not payloads:
        raise ProfileUnavailable(
            f"{entry.name} has no IMAP or POP3 server with an SMTP server, "
            "and no CalDAV or CardDAV service"
        )

    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": _identifierPrefix(account),
        "PayloadUUID": str(_profileUUID(account, "profile")).upper(),
        "PayloadDisplayName": f"{name} ({displayAddress})",
        "PayloadDescription": _description(payloads, displayAddress),
        "PayloadOrganization": name,
        "PayloadRemovalDisallowed": False,
        "PayloadContent": payloads,
    }


def renderProfile(entry: DomainEntry, localPart: str) -> bytes:
    """
    Serialize an address's unsigned profile as an XML property list.

    @raise UnsupportedAddress: See L{buildProfile}.
    @raise ProfileUnavailable: See L{buildProfile}.
    """
    return plistlib.dumps(buildProfile(entry, localPart), fmt=plistlib.FMT_XML)


def signProfile(profile: bytes, signer: ProfileSigner) -> bytes:
    """
    Wrap a serialized profile in CMS SignedData (DER, content attached).

    The signer's chain is embedded, so a device needs only the root. The
    profile bytes are embedded unchanged: the C{Binary} option stops the
    S/MIME conversion of line endings to CRLF.

    @param profile: The output of L{renderProfile}.
    @return: The DER bytes of the CMS ContentInfo.
    """
    builder = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(profile)
        .add_signer(signer.certificate, signer.key, hashes.SHA256())
    )
    for certificate in signer.chain:
        builder = builder.add_certificate(certificate)
    return builder.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])


def downloadFileName(domain: str) -> str:
    """
    Name the downloaded file after the domain, such as C{example.com.mobileconfig}.

    @param domain: A normalized A-label domain, which needs no quoting in a
        C{Content-Disposition} header.
    """
    return f"{domain}.mobileconfig"
