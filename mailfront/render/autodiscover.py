"""
Rendering of Microsoft Autodiscover responses: the Outlook POX schema
(C{responseschema/2006a}), the ActiveSync C{mobilesync} schema, their error
documents, and the JSON bodies of C{autodiscover.json}.

Every XML response starts with the XML declaration, is UTF-8 without a
byte-order mark, and declares each namespace as the default namespace of its
element, never with a prefix: Thunderbird finds elements by their qualified
name, so C{<a:Response>} would be invisible to it. Values taken from the
request (the address) are escaped by the serializer.
"""

from __future__ import annotations

import datetime
import enum
import json
import re
import zlib
from typing import Iterable, MutableMapping, Optional

import attrs
from lxml import etree

from ..registry.model import DomainEntry, Provider, Server

__all__ = [
    "CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "ROOT_NAMESPACE",
    "OUTLOOK_REQUEST_NAMESPACE",
    "MOBILESYNC_REQUEST_NAMESPACE",
    "DEFAULT_AUTODISCOVER_URL",
    "Schema",
    "ErrorCode",
    "Mailbox",
    "autodiscoverURL",
    "activeSyncURL",
    "redirectAddress",
    "renderOutlookResponse",
    "OutlookTemplate",
    "OutlookTemplates",
    "prepareOutlookTemplate",
    "renderPreparedOutlookResponse",
    "renderMobileSyncResponse",
    "renderError",
    "renderJSON",
    "renderJSONError",
]

#: Media type of the XML responses, as Exchange sends it. Thunderbird accepts
#: a response only if its type starts with C{text/xml} or C{application/xml}.
CONTENT_TYPE = b"text/xml; charset=utf-8"

#: Media type of the C{autodiscover.json} responses.
JSON_CONTENT_TYPE = b"application/json; charset=utf-8"

#: Namespace of the C{Autodiscover} root element of every response.
ROOT_NAMESPACE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"

#: Namespaces of the two request schemas.
OUTLOOK_REQUEST_NAMESPACE = (
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
)
MOBILESYNC_REQUEST_NAMESPACE = (
    "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
)

#: URL template of a domain's Autodiscover endpoint when its provider sets
#: no C{autodiscover-url}: the host name Outlook tries second.
DEFAULT_AUTODISCOVER_URL = "https://autodiscover.%EMAILDOMAIN%/autodiscover/autodiscover.xml"

#: Value of the C{Id} attribute of error elements. Exchange puts a number
#: identifying the server there; clients only show it.
SERVER_ID = str(zlib.crc32(b"mailfront"))

#: Culture of C{mobilesync} responses, in the C{language:country} form of the
#: schema.
MOBILESYNC_CULTURE = "en:us"


class Schema(enum.Enum):
    """
    A response schema a client names in C{AcceptableResponseSchema}.

    The value is the schema's namespace URI, used for the C{Response}
    element and everything below it.
    """

    OUTLOOK = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
    MOBILESYNC = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"


class ErrorCode(enum.IntEnum):
    """
    Error codes of Autodiscover error documents, shared by both schemas.
    """

    #: The server cannot tell how to configure this address.
    ADDRESS_NOT_FOUND = 500
    #: The address is known, but no settings exist for it.
    NO_SETTINGS = 501
    #: The request is malformed or lacks the address.
    INVALID_REQUEST = 600
    #: The requested response schema is not offered.
    PROVIDER_NOT_AVAILABLE = 601
    #: The server failed while building the response.
    INTERNAL_ERROR = 603

    @property
    def message(self) -> str:
        """
        The C{Message} text sent with this code.
        """
        return _ERROR_MESSAGES[self]


_ERROR_MESSAGES = {
    ErrorCode.ADDRESS_NOT_FOUND: "The email address can't be found.",
    ErrorCode.NO_SETTINGS: "No configuration is available for this email address.",
    ErrorCode.INVALID_REQUEST: "Invalid Request",
    ErrorCode.PROVIDER_NOT_AVAILABLE: "Provider is not available",
    ErrorCode.INTERNAL_ERROR: "Internal Server Error",
}


@attrs.frozen
class Mailbox:
    """
    The address a client asks about.

    @ivar localPart: The local part exactly as the client sent it.
    @ivar domain: The normalized A-label domain.
    """

    localPart: str
    domain: str

    @property
    def address(self) -> str:
        """
        The address as responses echo it: the client's local part and the
        normalized domain.
        """
        return f"{self.localPart}@{self.domain}"


_PLACEHOLDER = re.compile(r"%(EMAILADDRESS|EMAILLOCALPART|EMAILDOMAIN)%")


def _fillDomain(template: str, domain: str) -> str:
    return template.replace("%EMAILDOMAIN%", domain)


def _fillMailbox(template: str, mailbox: Mailbox) -> str:
    # One pass, so a local part that contains a placeholder name stays text.
    values = {
        "EMAILADDRESS": mailbox.address,
        "EMAILLOCALPART": mailbox.localPart,
        "EMAILDOMAIN": mailbox.domain,
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def autodiscoverURL(entry: DomainEntry) -> str:
    """
    Return the URL of the Autodiscover XML endpoint that serves a domain.

    @return: The domain's C{redirect-url} if another server serves it;
        otherwise its provider's C{autodiscover-url} or
        L{DEFAULT_AUTODISCOVER_URL}, with C{%EMAILDOMAIN%} filled in.
    """
    if entry.redirectURL is not None:
        return entry.redirectURL
    template = entry.provider.autodiscoverURL or DEFAULT_AUTODISCOVER_URL
    return _fillDomain(template, entry.name)


def activeSyncURL(provider: Provider, domain: str) -> Optional[str]:
    """
    Return the ActiveSync URL of a provider for one domain, or C{None} when
    the provider has none.
    """
    if provider.activeSyncURL is None:
        return None
    return _fillDomain(provider.activeSyncURL, domain)


def redirectAddress(entry: DomainEntry, mailbox: Mailbox) -> Optional[str]:
    """
    Return the address a domain's C{redirect-address} sends a mailbox to,
    or C{None} when the domain has none.
    """
    if entry.redirectAddress is None:
        return None
    return _fillMailbox(entry.redirectAddress, mailbox)


# Documents --------------------------------------------------------------------


def _text(parent: etree._Element, namespace: str, tag: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{namespace}}}{tag}")
    element.text = value
    return element


def _document(schema: Optional[Schema]) -> tuple[etree._Element, etree._Element, str]:
    """
    Start a response: the root and its C{Response}, in C{schema}'s namespace,
    or in the root's namespace when C{schema} is C{None}.

    @return: The root, the C{Response} element and the namespace of
        C{Response}'s children.
    """
    root = etree.Element(f"{{{ROOT_NAMESPACE}}}Autodiscover", nsmap={None: ROOT_NAMESPACE})
    if schema is None:
        response = etree.SubElement(root, f"{{{ROOT_NAMESPACE}}}Response")
        return root, response, ROOT_NAMESPACE
    response = etree.SubElement(root, f"{{{schema.value}}}Response", nsmap={None: schema.value})
    return root, response, schema.value


def _serialize(root: etree._Element) -> bytes:
    body: bytes = etree.tostring(root, xml_declaration=False, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _errorTime(now: datetime.datetime) -> str:
    """
    Format the C{Error/@Time} attribute: the time of day with seven
    fractional digits, as Exchange writes it.
    """
    return now.strftime("%H:%M:%S.") + f"{now.microsecond:06d}0"


def renderError(code: ErrorCode, schema: Optional[Schema], now: datetime.datetime) -> bytes:
    """
    Serialize an error document.

    @param schema: The schema the client asked for; C{None} when the request
        could not be read far enough to know it, in which case C{Response}
        stays in the root namespace, as in Exchange's response to a
        malformed request.
    @param now: The time of the request, for the C{Time} attribute.
    """
    root, response, namespace = _document(schema)
    error = etree.SubElement(response, f"{{{namespace}}}Error")
    error.set("Time", _errorTime(now))
    error.set("Id", SERVER_ID)
    _text(error, namespace, "ErrorCode", str(int(code)))
    _text(error, namespace, "Message", code.message)
    etree.SubElement(error, f"{{{namespace}}}DebugData")
    return _serialize(root)


# Outlook schema -------------------------------------------------------------------

#: Types of the Outlook schema for the registry's mail server types.
_OUTLOOK_TYPES = {"imap": "IMAP", "pop3": "POP3", "smtp": "SMTP"}

#: C{SSL} and C{Encryption} for each socket type. Outlook 2010 and later
#: decide by C{Encryption} (C{SSL} is implicit TLS, C{TLS} is STARTTLS).
#: Thunderbird reads C{SSL off} or C{Encryption None} as no encryption, and
#: otherwise derives STARTTLS or implicit TLS from the port.
_SECURITY = {
    "SSL": ("on", "SSL"),
    "STARTTLS": ("on", "TLS"),
    "plain": ("off", "None"),
}

#: Authentication methods that need no login, so C{AuthRequired} is off
#: when a server offers only these.
_NO_LOGIN_METHODS = frozenset({"none", "client-IP-address", "smtp-after-pop"})

#: Methods that send the password as typed.
_CLEARTEXT_METHODS = frozenset({"password-cleartext", "plain"})


@attrs.frozen
class _OutlookProtocol:
    """
    The values of one C{Protocol} element.
    """

    type: str
    server: str
    port: int
    loginName: str
    spa: str
    ssl: str
    encryption: str
    authRequired: str
    usePOPAuth: Optional[str] = None
    smtpLast: Optional[str] = None


def _methods(server: Server) -> frozenset[str]:
    return frozenset(method.method for method in server.authentication if method.system is None)


def _authRequired(server: Server) -> bool:
    methods = _methods(server)
    return not methods or not methods <= _NO_LOGIN_METHODS


def _spa(server: Server) -> str:
    # SPA means NTLM to Outlook, and it defaults to on when absent, so it is
    # always sent, and on only for a server that offers NTLM and no
    # cleartext password.
    methods = _methods(server)
    return "on" if "NTLM" in methods and not methods & _CLEARTEXT_METHODS else "off"


def _outlookProtocol(server: Server, mailbox: Mailbox) -> Optional[_OutlookProtocol]:
    outlookType = _OUTLOOK_TYPES.get(server.type)
    if (
        outlookType is None
        or server.hostname is None
        or server.port is None
        or server.socketType not in _SECURITY
    ):
        return None
    ssl, encryption = _SECURITY[server.socketType]
    # NOTE: Thunderbird ignores Encryption unless it is None and takes
    # STARTTLS for ports 25, 110, 143 and 587 and implicit TLS for every
    # other port, so it misreads STARTTLS or SSL servers on unusual ports.
    return _OutlookProtocol(
        type=outlookType,
        server=_fillMailbox(server.hostname, mailbox),
        port=server.port,
        loginName=_fillMailbox(server.username or "%EMAILADDRESS%", mailbox),
        spa=_spa(server),
        ssl=ssl,
        encryption=encryption,
        authRequired="on" if _authRequired(server) else "off",
    )


def _outlookProtocols(provider: Provider, mailbox: Mailbox) -> list[_OutlookProtocol]:
    """
    List the C{Protocol} entries of a provider: its IMAP and POP3 servers,
    then its SMTP servers, each in the registry's order of preference.
    """
    incoming = [_outlookProtocol(server, mailbox) for server in provider.incoming]
    protocols = [p for p in incoming if p is not None]
    firstLogin = protocols[0].loginName if protocols else None
    for server in provider.outgoing:
        protocol = _outlookProtocol(server, mailbox)
        if protocol is None:
            continue
        authRequired = protocol.authRequired == "on"
        protocols.append(
            attrs.evolve(
                protocol,
                usePOPAuth="on" if authRequired and protocol.loginName == firstLogin else "off",
                smtpLast="on" if "smtp-after-pop" in _methods(server) else "off",
            )
        )
    return protocols


def _protocolElement(parent: etree._Element, namespace: str, protocol: _OutlookProtocol) -> None:
    element = etree.SubElement(parent, f"{{{namespace}}}Protocol")
    for tag, value in (
        ("Type", protocol.type),
        ("Server", protocol.server),
        ("Port", str(protocol.port)),
        ("LoginName", protocol.loginName),
        ("DomainRequired", "off"),
        ("SPA", protocol.spa),
        ("SSL", protocol.ssl),
        ("Encryption", protocol.encryption),
        ("AuthRequired", protocol.authRequired),
        ("UsePOPAuth", protocol.usePOPAuth),
        ("SMTPLast", protocol.smtpLast),
    ):
        if value is not None:
            _text(element, namespace, tag, value)


def _outlookAccount(mailbox: Mailbox) -> tuple[etree._Element, etree._Element, str]:
    root, response, namespace = _document(Schema.OUTLOOK)
    user = etree.SubElement(response, f"{{{namespace}}}User")
    _text(user, namespace, "AutoDiscoverSMTPAddress", mailbox.address)
    account = etree.SubElement(response, f"{{{namespace}}}Account")
    _text(account, namespace, "AccountType", "email")
    return root, account, namespace


def _renderOutlookSettings(protocols: Iterable[_OutlookProtocol], mailbox: Mailbox) -> bytes:
    root, account, namespace = _outlookAccount(mailbox)
    _text(account, namespace, "Action", "settings")
    for protocol in protocols:
        _protocolElement(account, namespace, protocol)
    return _serialize(root)


def _renderOutlookRedirect(mailbox: Mailbox, action: str, tag: str, target: str) -> bytes:
    root, account, namespace = _outlookAccount(mailbox)
    _text(account, namespace, "Action", action)
    _text(account, namespace, tag, target)
    return _serialize(root)


def renderOutlookResponse(entry: DomainEntry, mailbox: Mailbox, now: datetime.datetime) -> bytes:
    """
    Serialize the Outlook-schema response for a mailbox of a served domain.

    A domain with C{redirect-url} gets C{Action redirectUrl}; one with
    C{redirect-address} gets C{Action redirectAddr}; any other domain gets
    C{Action settings} with one C{Protocol} per IMAP, POP3 and SMTP server,
    or error 501 when its provider has none of them.

    @param entry: The domain of C{mailbox}, from the registry.
    @param now: The time of the request, for an error's C{Time} attribute.
    """
    if entry.redirectURL is not None:
        return _renderOutlookRedirect(mailbox, "redirectUrl", "RedirectUrl", entry.redirectURL)
    target = redirectAddress(entry, mailbox)
    if target is not None:
        return _renderOutlookRedirect(mailbox, "redirectAddr", "RedirectAddr", target)
    protocols = _outlookProtocols(entry.provider, mailbox)
    if not protocols:
        return renderError(ErrorCode.NO_SETTINGS, Schema.OUTLOOK, now)
    return _renderOutlookSettings(protocols, mailbox)


# Prepared Outlook responses -------------------------------------------------------

#: Stand-ins for the local part and the domain while a template is
#: serialized. The domain one is a host name that no request can carry,
#: because C{.invalid} names are never served (RFC 6761).
_LOCAL_PART_SLOT = "mailfront-local-part-slot"
_DOMAIN_SLOT = "mailfront-domain-slot.invalid"
_SLOTS = re.compile(f"({re.escape(_LOCAL_PART_SLOT)}|{re.escape(_DOMAIN_SLOT)})".encode("ascii"))

#: Local parts a template fills in: the dot-atom characters of RFC 5322,
#: which XML text takes without escaping. Others take the full path.
_PLAIN_LOCAL_PART = re.compile(r"[A-Za-z0-9.!#$%'*+/=?^_`{|}~-]+")

#: The address a new template is checked with against the full path.
_PROBE = Mailbox("probe.user", "probe.example")


def _loginPattern(
    templates: tuple[str, ...], firstIncoming: int, mailbox: Mailbox
) -> tuple[bool, ...]:
    """
    Tell, for each login name template, whether it fills in to the same
    login name as the first incoming server's, which decides C{UsePOPAuth}.
    """
    if firstIncoming < 0:
        return tuple(False for _ in templates)
    first = _fillMailbox(templates[firstIncoming], mailbox)
    return tuple(_fillMailbox(template, mailbox) == first for template in templates)


@attrs.frozen
class OutlookTemplate:
    """
    A provider's serialized Outlook C{settings} response, split where the
    local part and the domain of the address go.

    @ivar parts: The document's bytes between the slots.
    @ivar slots: For each gap between two parts, C{True} for the local part
        and C{False} for the domain.
    @ivar loginTemplates: The login name template of each C{Protocol}.
    @ivar firstIncoming: Index in C{loginTemplates} of the first incoming
        server's, or -1 when there is none.
    @ivar loginPattern: L{_loginPattern} of the stand-in address; an address
        with another pattern gets other C{UsePOPAuth} values.
    @ivar loginsDiffer: Whether some login name template differs from the
        first incoming server's. When none does, every address has the same
        pattern, so it is not computed per request.
    """

    parts: tuple[bytes, ...]
    slots: tuple[bool, ...]
    loginTemplates: tuple[str, ...]
    firstIncoming: int
    loginPattern: tuple[bool, ...]
    loginsDiffer: bool

    def render(self, mailbox: Mailbox) -> Optional[bytes]:
        """
        Fill in the address, as L{renderOutlookResponse} would render it.

        @return: The document, or C{None} when this address needs the full
            path: a local part that needs escaping, or login names that
            compare differently than the stand-in's.
        """
        if _PLAIN_LOCAL_PART.fullmatch(mailbox.localPart) is None:
            return None
        if self.loginsDiffer and (
            _loginPattern(self.loginTemplates, self.firstIncoming, mailbox) != self.loginPattern
        ):
            return None
        localPart = mailbox.localPart.encode("ascii")
        domain = mailbox.domain.encode("ascii")
        pieces = [self.parts[0]]
        for isLocalPart, part in zip(self.slots, self.parts[1:]):
            pieces.append(localPart if isLocalPart else domain)
            pieces.append(part)
        return b"".join(pieces)


def prepareOutlookTemplate(provider: Provider) -> Optional[OutlookTemplate]:
    """
    Serialize a provider's Outlook C{settings} response once, for
    L{OutlookTemplate.render}.

    @return: The template, or C{None} when the provider has no server that
        the Outlook schema describes, or its settings contain a stand-in.
    """
    slotMailbox = Mailbox(_LOCAL_PART_SLOT, _DOMAIN_SLOT)
    protocols = _outlookProtocols(provider, slotMailbox)
    if not protocols:
        return None
    loginTemplates: list[str] = []
    firstIncoming = -1
    for direction in (provider.incoming, provider.outgoing):
        for server in direction:
            if _outlookProtocol(server, slotMailbox) is None:
                continue
            if direction is provider.incoming and firstIncoming < 0:
                firstIncoming = len(loginTemplates)
            loginTemplates.append(server.username or "%EMAILADDRESS%")
    document = _renderOutlookSettings(protocols, slotMailbox)
    pieces = _SLOTS.split(document)
    templates = tuple(loginTemplates)
    template = OutlookTemplate(
        parts=tuple(pieces[0::2]),
        slots=tuple(piece == _LOCAL_PART_SLOT.encode("ascii") for piece in pieces[1::2]),
        loginTemplates=templates,
        firstIncoming=firstIncoming,
        loginPattern=_loginPattern(templates, firstIncoming, slotMailbox),
        loginsDiffer=firstIncoming >= 0 and any(t != templates[firstIncoming] for t in templates),
    )
    # A setting that contains a stand-in's text would be filled in too.
    expected = _renderOutlookSettings(_outlookProtocols(provider, _PROBE), _PROBE)
    if template.render(_PROBE) != expected:
        return None
    return template


#: Prepared templates by provider object identity, with the provider, so a
#: new object that reuses an id gets its own template.
OutlookTemplates = MutableMapping[int, tuple[Provider, Optional[OutlookTemplate]]]


def renderPreparedOutlookResponse(
    entry: DomainEntry, mailbox: Mailbox, templates: OutlookTemplates
) -> Optional[bytes]:
    """
    Fill a mailbox into its provider's prepared Outlook response, preparing
    the template on first use.

    @param templates: Where templates are kept, such as the current
        snapshot's.
    @return: What L{renderOutlookResponse} returns, or C{None} when the
        response cannot be prepared (a redirect, an error, an address that
        needs escaping); then call L{renderOutlookResponse}.
    """
    if entry.redirectURL is not None or entry.redirectAddress is not None:
        return None
    provider = entry.provider
    cached = templates.get(id(provider))
    if cached is None or cached[0] is not provider:
        cached = templates[id(provider)] = (provider, prepareOutlookTemplate(provider))
    template = cached[1]
    return None if template is None else template.render(mailbox)


# MobileSync schema ----------------------------------------------------------------


def _mobileSyncAction(mailbox: Mailbox) -> tuple[etree._Element, etree._Element, str]:
    root, response, namespace = _document(Schema.MOBILESYNC)
    _text(response, namespace, "Culture", MOBILESYNC_CULTURE)
    user = etree.SubElement(response, f"{{{namespace}}}User")
    _text(user, namespace, "EMailAddress", mailbox.address)
    action = etree.SubElement(response, f"{{{namespace}}}Action")
    return root, action, namespace


def renderMobileSyncResponse(entry: DomainEntry, mailbox: Mailbox, now: datetime.datetime) -> bytes:
    """
    Serialize the C{mobilesync}-schema response for a mailbox of a served
    domain.

    A domain with C{redirect-address} gets C{Action/Redirect}. Otherwise the
    provider's ActiveSync URL is the C{MobileSync} server. A provider
    without one gets error 601 (no provider for this schema), so the device
    moves on. The schema cannot express C{redirect-url}, so such a domain
    gets its provider's settings.

    @param entry: The domain of C{mailbox}, from the registry.
    @param now: The time of the request, for an error's C{Time} attribute.
    """
    target = redirectAddress(entry, mailbox) if entry.redirectURL is None else None
    if target is not None:
        root, action, namespace = _mobileSyncAction(mailbox)
        _text(action, namespace, "Redirect", target)
        return _serialize(root)

    url = activeSyncURL(entry.provider, entry.name)
    if url is None:
        return renderError(ErrorCode.PROVIDER_NOT_AVAILABLE, Schema.MOBILESYNC, now)
    root, action, namespace = _mobileSyncAction(mailbox)
    settings = etree.SubElement(action, f"{{{namespace}}}Settings")
    server = etree.SubElement(settings, f"{{{namespace}}}Server")
    _text(server, namespace, "Type", "MobileSync")
    _text(server, namespace, "Url", url)
    _text(server, namespace, "Name", url)
    return _serialize(root)


# JSON -------------------------------------------------------------------------------


def renderJSON(protocol: str, url: str) -> bytes:
    """
    Serialize a successful C{autodiscover.json} response.

    @param protocol: The protocol name as Exchange spells it, such as
        C{AutodiscoverV1}.
    """
    return json.dumps({"Protocol": protocol, "Url": url}).encode("ascii")


def renderJSONError(code: str, message: str) -> bytes:
    """
    Serialize an C{autodiscover.json} error in Exchange's shape.

    @param code: A word such as C{InvalidProtocol}.
    """
    return json.dumps({"ErrorCode": code, "ErrorMessage": message}).encode("ascii")
