"""
The setup page for people: a form for an email address, and the settings to
type into any mail client, a link to the Apple profile and a QR code of that
link.

The page is built as an lxml tree, so every value from the request or the
registry is escaped by the serializer. It needs no JavaScript and loads
nothing from elsewhere: the style sheet is inline, allowed by its hash in
L{CONTENT_SECURITY_POLICY}, and the QR code is an SVG C{data:} image.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Iterable, Optional, Sequence

import attrs
import segno
from lxml import html
from lxml.html import builder as E

from ..registry.model import Authentication, DavServer, DomainEntry, Server
from ..registry.names import toUnicode
from .account import Account, fillPlaceholders, fillURL, mailServers, preferredServer

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CONTENT_TYPE",
    "AccountSettings",
    "renderSetupPage",
]

CONTENT_TYPE = b"text/html; charset=utf-8"

#: Name of the form field, the same as the query parameter of Autoconfig.
FIELD = "emailaddress"

#: Heading of a page that no known domain brands.
DEFAULT_BRAND = "Mail setup"

_STYLE = """
:root { font-family: system-ui, sans-serif; line-height: 1.5; color: #1b1b1b;
  background: #fff; }
body { margin: 0; }
main { max-width: 56rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.75rem; margin: 1rem 0 0.25rem; }
h2 { font-size: 1.3rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 0.5rem; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input { font: inherit; padding: 0.5rem; width: 100%; max-width: 24rem;
  box-sizing: border-box; border: 2px solid #5c5c5c; border-radius: 4px; }
button, a.button { font: inherit; display: inline-block; margin-top: 0.75rem;
  padding: 0.55rem 1.1rem; border: 0; border-radius: 4px; background: #0b57d0;
  color: #fff; text-decoration: none; cursor: pointer; }
:focus-visible { outline: 3px solid #e37400; outline-offset: 2px; }
.notice { border-left: 4px solid #b3261e; padding: 0.5rem 1rem; background: #fdf2f1; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; min-width: 100%; }
th, td { text-align: left; padding: 0.35rem 0.75rem 0.35rem 0; border-bottom: 1px solid #d0d0d0;
  vertical-align: top; }
td.value { font-family: ui-monospace, monospace; white-space: nowrap; }
.recommended { font-weight: 600; }
.qr { display: block; margin: 0.75rem 0; }
.url { font-family: ui-monospace, monospace; font-size: 0.85rem; overflow-wrap: anywhere; }
"""

#: The policy for the page: nothing may load but the inline style sheet
#: above and the C{data:} image of the QR code, and the form may only go to
#: this site.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'sha256-%s'; img-src data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
    % (base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii"),)
).encode("ascii")

_SECURITY = {
    "SSL": "SSL/TLS",
    "STARTTLS": "STARTTLS",
    "plain": "None (unencrypted)",
}

_PROTOCOL = {"imap": "IMAP", "pop3": "POP3", "smtp": "SMTP"}

_SIGN_IN = {
    "password-cleartext": "Normal password",
    "plain": "Normal password",
    "password-encrypted": "Encrypted password",
    "secure": "Encrypted password",
    "NTLM": "NTLM",
    "GSSAPI": "Kerberos (GSSAPI)",
    "OAuth2": "OAuth 2",
    "TLS-client-cert": "TLS client certificate",
    "client-IP-address": "None (by network address)",
    "smtp-after-pop": "Check incoming mail first",
    "none": "None",
}


@attrs.frozen
class AccountSettings:
    """
    The settings the page shows for a known address.

    @ivar entry: The registry entry of the address's domain.
    @ivar account: The address.
    @ivar profilePath: Relative link to the address's Apple profile.
    @ivar profileURL: Absolute link for the QR code, or C{None} when the
        request did not say which host it reached.
    """

    entry: DomainEntry
    account: Account
    profilePath: str
    profileURL: Optional[str]


def _signIn(methods: Iterable[Authentication]) -> str:
    labels: list[str] = []
    for method in methods:
        label = method.method if method.system else _SIGN_IN.get(method.method, method.method)
        if label not in labels:
            labels.append(label)
    return " or ".join(labels) if labels else "Password"


def _serverTable(
    servers: Sequence[Server], preferred: Optional[Server], account: Account
) -> html.HtmlElement:
    header = E.TR(
        *(
            E.TH(title, scope="col")
            for title in ("Protocol", "Server", "Port", "Security", "User name", "Sign-in")
        )
    )
    rows = []
    for server in servers:
        assert server.hostname is not None
        protocol = _PROTOCOL[server.type]
        cells = [
            E.TD(protocol + (" (recommended)" if server is preferred else "")),
            E.TD(fillPlaceholders(server.hostname, account), E.CLASS("value")),
            E.TD(str(server.port), E.CLASS("value")),
            E.TD(_SECURITY[server.socketType or "plain"]),
            E.TD(
                fillPlaceholders(server.username, account)
                if server.username is not None
                else "Your email address",
                E.CLASS("value"),
            ),
            E.TD(_signIn(server.authentication)),
        ]
        row = E.TR(*cells)
        if server is preferred:
            row.set("class", "recommended")
        rows.append(row)
    return E.DIV(E.TABLE(E.THEAD(header), E.TBODY(*rows)), E.CLASS("scroll"))


def _davList(
    title: str, servers: Sequence[DavServer], account: Account
) -> list[html.HtmlElement]:
    if not servers:
        return []
    items = []
    for server in servers:
        items.append(E.DT(title))
        items.append(E.DD(fillURL(server.url, account), E.CLASS("value url")))
        if server.username is not None:
            items.append(E.DT("User name"))
            items.append(E.DD(fillPlaceholders(server.username, account), E.CLASS("value")))
    return items


def _settingsSection(settings: AccountSettings) -> html.HtmlElement:
    provider = settings.entry.provider
    account = settings.account
    displayAddress = f"{account.localPart}@{toUnicode(account.domain)}"
    incoming = tuple(s for s in mailServers(provider.incoming) if s.type in ("imap", "pop3"))
    outgoing = tuple(s for s in mailServers(provider.outgoing) if s.type == "smtp")

    section = E.SECTION(E.H2(f"Settings for {displayAddress}", id="settings"))
    section.set("aria-labelledby", "settings")
    if incoming:
        section.append(E.H3("Incoming mail"))
        section.append(
            _serverTable(incoming, preferredServer(incoming, ("imap", "pop3")), account)
        )
    if outgoing:
        section.append(E.H3("Outgoing mail"))
        section.append(_serverTable(outgoing, preferredServer(outgoing, ("smtp",)), account))
    dav = _davList("Calendar (CalDAV)", provider.calendars, account) + _davList(
        "Contacts (CardDAV)", provider.addressbooks, account
    )
    if dav:
        section.append(E.H3("Calendar and contacts"))
        section.append(E.DL(*dav))
    section.append(
        E.P(
            "Password: the password of your email account. "
            "This page never asks for it, and the profile does not contain it."
        )
    )
    section.append(E.H2("iPhone, iPad and Mac"))
    section.append(
        E.P(
            "Download the configuration profile and install it; the device asks for "
            "your password during installation."
        )
    )
    section.append(
        E.P(
            E.A(
                "Download the Apple profile",
                E.CLASS("button"),
                href=settings.profilePath,
                id="profile-link",
            )
        )
    )
    if settings.profileURL is not None:
        section.extend(_qrCode(settings.profileURL))
    return section


def _qrCode(url: str) -> list[html.HtmlElement]:
    code = segno.make(url, error="m", micro=False)
    scale = 4
    width, height = code.symbol_size(scale=scale)
    image = E.IMG(
        E.CLASS("qr"),
        src=code.svg_data_uri(scale=scale, dark="#000", light="#fff"),
        alt="QR code of the link to the Apple profile",
        width=str(width),
        height=str(height),
    )
    return [
        E.P("On a phone, scan this code with the camera to open the same link:"),
        image,
        E.P(url, E.CLASS("url")),
    ]


def _form(action: str, address: Optional[str]) -> html.HtmlElement:
    field = E.INPUT(
        id=FIELD,
        name=FIELD,
        type="text",
        inputmode="email",
        autocomplete="email",
        autocapitalize="none",
        spellcheck="false",
        required="required",
        placeholder="name@example.com",
    )
    if address is not None:
        field.set("value", address)
    return E.FORM(
        E.LABEL("Email address", **{"for": FIELD}),
        field,
        E.DIV(E.BUTTON("Show settings", type="submit")),
        method="get",
        action=action,
    )


def renderSetupPage(
    brand: Optional[str],
    formAction: str,
    address: Optional[str] = None,
    settings: Optional[AccountSettings] = None,
    notice: Optional[str] = None,
) -> bytes:
    """
    Render the setup page.

    @param brand: The provider's display name for the heading, or C{None}
        for a generic heading.
    @param formAction: The path the form submits to.
    @param address: The address as the person typed it, shown again in the
        field.
    @param settings: The settings to show, for a known address.
    @param notice: A message for the person instead of settings, such as
        "no settings for this domain".
    @return: The UTF-8 HTML document.
    """
    title = brand or DEFAULT_BRAND
    main = E.E.main(
        E.H1(title),
        E.P("Find the settings to set up your email on a phone or computer."),
        _form(formAction, address),
    )
    if notice is not None:
        paragraph = E.P(notice, E.CLASS("notice"), role="status")
        main.append(paragraph)
    if settings is not None:
        main.append(_settingsSection(settings))
    document = E.HTML(
        E.HEAD(
            E.META(charset="utf-8"),
            E.META(name="viewport", content="width=device-width, initial-scale=1"),
            E.META(name="referrer", content="no-referrer"),
            E.TITLE(f"Mail settings – {title}"),
            E.STYLE(_STYLE),
        ),
        E.BODY(main),
        lang="en",
    )
    result: bytes = html.tostring(
        document, doctype="<!DOCTYPE html>", encoding="utf-8", method="html"
    )
    return result
