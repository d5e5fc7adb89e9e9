"""
Rendering of Mozilla/IETF Autoconfig documents (C{config-v1.1.xml}).

Documents are built with lxml from registry records. Because a hosting
provider may serve a million domains, the document of a provider is
serialized once into a L{AutoconfigTemplate} with a slot for the domain, and a
request only joins the template's parts around the requested domain.
"""

from __future__ import annotations

from typing import Iterable

import attrs
from lxml import etree

from ..registry.model import (
    Authentication,
    DavServer,
    Description,
    Documentation,
    Provider,
    Server,
)

__all__ = [
    "CONTENT_TYPE",
    "AutoconfigTemplate",
    "buildDocument",
    "prepareTemplate",
    "renderAutoconfig",
]

#: Media type of the response. Thunderbird accepts a body only if the type
#: starts with C{text/xml} or C{application/xml}, in lower case.
CONTENT_TYPE = b"application/xml; charset=utf-8"

#: Stand-in for the domain while a template is serialized. It is a valid host
#: name that no request can carry, because C{.invalid} names are never
#: served (RFC 6761).
_DOMAIN_SLOT = "mailfront-domain-slot.invalid"


def _text(parent: etree._Element, tag: str, value: object) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)
    return element


def _authentication(parent: etree._Element, methods: Iterable[Authentication]) -> None:
    for method in methods:
        element = _text(parent, "authentication", method.method)
        if method.system is not None:
            element.set("system", method.system)


def _descriptions(parent: etree._Element, tag: str, texts: Iterable[Description]) -> None:
    for description in texts:
        element = _text(parent, tag, description.text)
        if description.lang is not None:
            element.set("lang", description.lang)


def _server(parent: etree._Element, tag: str, server: Server) -> None:
    element = etree.SubElement(parent, tag, type=server.type)
    if server.url is not None:
        _text(element, "url", server.url)
    if server.hostname is not None:
        _text(element, "hostname", server.hostname)
    if server.port is not None:
        _text(element, "port", server.port)
    if server.socketType is not None:
        _text(element, "socketType", server.socketType)
    _authentication(element, server.authentication)
    if server.username is not None:
        _text(element, "username", server.username)
    if server.pop3 is not None:
        pop3 = etree.SubElement(element, "pop3")
        options = server.pop3
        if options.leaveMessagesOnServer is not None:
            _text(pop3, "leaveMessagesOnServer", options.leaveMessagesOnServer)
        if options.daysToLeaveMessagesOnServer is not None:
            _text(pop3, "daysToLeaveMessagesOnServer", options.daysToLeaveMessagesOnServer)
        if options.downloadOnBiff is not None:
            _text(pop3, "downloadOnBiff", options.downloadOnBiff)
        if options.checkIntervalMinutes is not None:
            etree.SubElement(pop3, "checkInterval", minutes=str(options.checkIntervalMinutes))
    for name in ("owaURL", "ewsURL", "easURL", "restriction"):
        value = getattr(server, name)
        if value is not None:
            _text(element, name, value)
    for name in ("useGlobalPreferredServer", "addThisServer"):
        value = getattr(server, name)
        if value is not None:
            _text(element, name, value)


def _documentation(parent: etree._Element, tag: str, pages: Iterable[Documentation]) -> None:
    for page in pages:
        element = etree.SubElement(parent, tag, url=page.url)
        _descriptions(element, "descr", page.descriptions)


def _dav(parent: etree._Element, tag: str, server: DavServer) -> None:
    element = etree.SubElement(parent, tag, type=server.type)
    _text(element, "url", server.url)
    _authentication(element, server.authentication)
    if server.username is not None:
        _text(element, "username", server.username)


def _enable(parent: etree._Element, provider: Provider) -> None:
    assert provider.enable is not None
    element = etree.SubElement(parent, "enable")
    if provider.enable.visitURL is not None:
        element.set("visiturl", provider.enable.visitURL)
    _descriptions(element, "instruction", provider.enable.instructions)


def _webMail(parent: etree._Element, provider: Provider) -> None:
    assert provider.webMail is not None
    webMail = etree.SubElement(parent, "webMail")
    if provider.webMail.loginPage is not None:
        etree.SubElement(webMail, "loginPage", url=provider.webMail.loginPage)
    info = provider.webMail.loginPageInfo
    if info is None:
        return
    element = etree.SubElement(webMail, "loginPageInfo", url=info.url)
    if info.waitForRedirectionURLPrefix is not None:
        element.set("waitForRedirectionURLPrefix", info.waitForRedirectionURLPrefix)
    if info.username is not None:
        _text(element, "username", info.username)
    for tag, idValue, nameValue in (
        ("usernameField", info.usernameFieldId, info.usernameFieldName),
        ("passwordField", info.passwordFieldId, info.passwordFieldName),
        ("loginButton", info.loginButtonId, info.loginButtonName),
    ):
        if idValue is None and nameValue is None:
            continue
        field = etree.SubElement(element, tag)
        if idValue is not None:
            field.set("id", idValue)
        if nameValue is not None:
            field.set("name", nameValue)


def buildDocument(provider: Provider, domain: str) -> etree._Element:
    """
    Build the C{clientConfig} tree of a provider as served for one domain.

    @param provider: The effective provider of the domain.
    @param domain: The A-label domain, used as C{emailProvider/@id} and as the
        only C{domain} element, so the response never lists a hosting
        provider's other customers.
    """
    root = etree.Element("clientConfig", version="1.1")
    emailProvider = etree.SubElement(root, "emailProvider", id=domain)
    _text(emailProvider, "domain", domain)
    if provider.displayName is not None:
        _text(emailProvider, "displayName", provider.displayName)
    if provider.displayShortName is not None:
        _text(emailProvider, "displayShortName", provider.displayShortName)
    for server in provider.incoming:
        _server(emailProvider, "incomingServer", server)
    for server in provider.outgoing:
        _server(emailProvider, "outgoingServer", server)
    _documentation(emailProvider, "documentation", provider.documentation)
    _documentation(emailProvider, "instruction", provider.instructions)
    if provider.enable is not None and provider.enable.placement == "provider":
        _enable(emailProvider, provider)

    if provider.enable is not None and provider.enable.placement == "config":
        _enable(root, provider)
    if provider.webMail is not None:
        _webMail(root, provider)
    if provider.oauth2 is not None:
        oauth2 = etree.SubElement(root, "oAuth2")
        _text(oauth2, "issuer", provider.oauth2.issuer)
        _text(oauth2, "scope", provider.oauth2.scope)
        _text(oauth2, "authURL", provider.oauth2.authURL)
        _text(oauth2, "tokenURL", provider.oauth2.tokenURL)
        if provider.oauth2.clientID is not None:
            _text(oauth2, "clientID", provider.oauth2.clientID)
        if provider.oauth2.clientSecret is not None:
            _text(oauth2, "clientSecret", provider.oauth2.clientSecret)
    for server in provider.addressbooks:
        _dav(root, "addressbook", server)
    for server in provider.calendars:
        _dav(root, "calendar", server)
    if provider.clientConfigUpdate is not None:
        etree.SubElement(root, "clientConfigUpdate", url=provider.clientConfigUpdate)
    return root


def _serialize(root: etree._Element) -> bytes:
    body: bytes = etree.tostring(
        root, xml_declaration=False, encoding="UTF-8", pretty_print=True
    )
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def renderAutoconfig(provider: Provider, domain: str) -> bytes:
    """
    Serialize the Autoconfig document of a provider for one domain.

    @return: UTF-8 bytes starting with the XML declaration, with no
        byte-order mark.
    """
    return _serialize(buildDocument(provider, domain))


@attrs.frozen
class AutoconfigTemplate:
    """
    A serialized Autoconfig document with slots where the domain goes.

    @ivar parts: The document split at each place the domain appears.
    """

    parts: tuple[bytes, ...]

    def render(self, domain: str) -> bytes:
        """
        Fill in the domain.

        @param domain: A normalized A-label domain; it contains only letters,
            digits, hyphens and dots, so it needs no XML escaping.
        """
        return domain.encode("ascii").join(self.parts)


def prepareTemplate(provider: Provider) -> AutoconfigTemplate:
    """
    Serialize a provider's document once, for L{AutoconfigTemplate.render}.
    """
    document = _serialize(buildDocument(provider, _DOMAIN_SLOT))
    return AutoconfigTemplate(tuple(document.split(_DOMAIN_SLOT.encode("ascii"))))

