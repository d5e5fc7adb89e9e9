"""
Writing registry records back as configuration text.

L{formatProviderFile} turns one L{Provider} and its domains into a TOML file
that L{mailfront.registry.parse} reads back into an equal record. The output
uses the same layout as hand-written files: one C{[providers.ID]} table with
its scalar settings and C{domains}, then one C{[[...]]} table per server in
order of preference, then the remaining sections.

Only the TOML that this schema needs is written: strings, integers,
booleans, arrays of strings and small inline tables.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional, Sequence, Union

from .model import (
    Authentication,
    DavServer,
    Description,
    Documentation,
    Enable,
    OAuth2,
    Pop3Options,
    Provider,
    Server,
    WebMail,
)

__all__ = ["formatProviderFile", "formatKey", "formatString"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

#: Escape sequences of TOML basic strings. Every other control character is
#: written as C{\\uXXXX}.
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}

Scalar = Union[str, int, bool]


def formatString(text: str) -> str:
    """
    Quote a string as a TOML basic string.

    @return: The string between double quotes, with quotes, backslashes and
        control characters escaped; other characters are written as they are
        (the file is UTF-8).
    """
    parts = ['"']
    for character in text:
        escape = _ESCAPES.get(character)
        if escape is not None:
            parts.append(escape)
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            parts.append(f"\\u{ord(character):04X}")
        else:
            parts.append(character)
    parts.append('"')
    return "".join(parts)


def formatKey(name: str) -> str:
    """
    Write a key bare when TOML allows it, quoted otherwise.

    A provider id such as C{zoho.com} must be quoted, because a bare dotted
    key would open nested tables.
    """
    if _BARE_KEY.fullmatch(name):
        return name
    return formatString(name)


def _value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return formatString(value)


def _inlineTable(pairs: Iterable[tuple[str, Optional[Scalar]]]) -> str:
    items = [f"{key} = {_value(value)}" for key, value in pairs if value is not None]
    if not items:
        return "{}"
    return "{ " + ", ".join(items) + " }"


class _Writer:
    """
    Accumulator of the lines of one file.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []

    def table(self, header: str) -> None:
        if self.lines:
            self.lines.append("")
        self.lines.append(header)

    def pair(self, key: str, value: Optional[Scalar]) -> None:
        if value is not None:
            self.lines.append(f"{key} = {_value(value)}")

    def array(self, key: str, items: Sequence[str]) -> None:
        """
        Write an array of already formatted values, one per line when there
        are several.
        """
        if len(items) == 1:
            self.lines.append(f"{key} = [{items[0]}]")
            return
        self.lines.append(f"{key} = [")
        self.lines.extend(f"  {item}," for item in items)
        self.lines.append("]")


def _authentication(methods: Sequence[Authentication]) -> list[str]:
    return [
        formatString(method.method)
        if method.system is None
        else _inlineTable((("method", method.method), ("system", method.system)))
        for method in methods
    ]


def _descriptions(texts: Sequence[Description]) -> list[str]:
    return [_inlineTable((("lang", text.lang), ("text", text.text))) for text in texts]


def _pop3(options: Pop3Options) -> str:
    return _inlineTable(
        (
            ("leave-messages-on-server", options.leaveMessagesOnServer),
            ("days-to-leave-messages-on-server", options.daysToLeaveMessagesOnServer),
            ("download-on-biff", options.downloadOnBiff),
            ("check-interval-minutes", options.checkIntervalMinutes),
        )
    )


def _server(writer: _Writer, header: str, server: Server) -> None:
    writer.table(f"[[{header}]]")
    writer.pair("type", server.type)
    writer.pair("hostname", server.hostname)
    writer.pair("port", server.port)
    writer.pair("socket-type", server.socketType)
    writer.pair("url", server.url)
    if server.authentication:
        writer.array("authentication", _authentication(server.authentication))
    writer.pair("username", server.username)
    if server.pop3 is not None:
        writer.lines.append(f"pop3 = {_pop3(server.pop3)}")
    writer.pair("owa-url", server.owaURL)
    writer.pair("ews-url", server.ewsURL)
    writer.pair("eas-url", server.easURL)
    writer.pair("use-global-preferred-server", server.useGlobalPreferredServer)
    writer.pair("add-this-server", server.addThisServer)
    writer.pair("restriction", server.restriction)


def _dav(writer: _Writer, header: str, server: DavServer) -> None:
    writer.table(f"[[{header}]]")
    writer.pair("type", server.type)
    writer.pair("url", server.url)
    if server.authentication:
        writer.array("authentication", _authentication(server.authentication))
    writer.pair("username", server.username)


def _pages(writer: _Writer, header: str, pages: Sequence[Documentation]) -> None:
    for page in pages:
        writer.table(f"[[{header}]]")
        writer.pair("url", page.url)
        if page.descriptions:
            writer.array("descriptions", _descriptions(page.descriptions))


def _enable(writer: _Writer, header: str, enable: Enable) -> None:
    writer.table(f"[{header}]")
    writer.pair("visit-url", enable.visitURL)
    if enable.instructions:
        writer.array("instructions", _descriptions(enable.instructions))
    if enable.placement != "provider":
        writer.pair("placement", enable.placement)


def _webMail(writer: _Writer, header: str, webMail: WebMail) -> None:
    writer.table(f"[{header}]")
    writer.pair("login-page", webMail.loginPage)
    info = webMail.loginPageInfo
    if info is None:
        return
    writer.table(f"[{header}.login-page-info]")
    writer.pair("url", info.url)
    writer.pair("username", info.username)
    writer.pair("username-field-id", info.usernameFieldId)
    writer.pair("username-field-name", info.usernameFieldName)
    writer.pair("password-field-id", info.passwordFieldId)
    writer.pair("password-field-name", info.passwordFieldName)
    writer.pair("login-button-id", info.loginButtonId)
    writer.pair("login-button-name", info.loginButtonName)
    writer.pair("wait-for-redirection-url-prefix", info.waitForRedirectionURLPrefix)


def _oauth2(writer: _Writer, header: str, oauth2: OAuth2) -> None:
    writer.table(f"[{header}]")
    writer.pair("issuer", oauth2.issuer)
    writer.pair("scope", oauth2.scope)
    writer.pair("auth-url", oauth2.authURL)
    writer.pair("token-url", oauth2.tokenURL)
    writer.pair("client-id", oauth2.clientID)
    writer.pair("client-secret", oauth2.clientSecret)


def _comment(text: str) -> str:
    # TOML comments may hold any character except control characters other
    # than tab.
    cleaned = "".join(" " if (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F else c for c in text)
    return f"# {cleaned}".rstrip()


def formatProviderFile(
    provider: Provider, domains: Sequence[str], comments: Sequence[str] = ()
) -> str:
    """
    Write a provider and the domains it serves as one configuration file.

    @param provider: The provider; its C{id} names the table.
    @param domains: Names for the C{domains} array, in order.
    @param comments: Lines for a comment block at the top of the file.
    @return: The text of the file, ending with a newline.
    """
    writer = _Writer()
    for line in comments:
        writer.lines.append(_comment(line))

    base = f"providers.{formatKey(provider.id)}"
    writer.table(f"[{base}]")
    writer.pair("display-name", provider.displayName)
    writer.pair("display-short-name", provider.displayShortName)
    if domains:
        writer.array("domains", [formatString(name) for name in domains])
    writer.pair("client-config-update", provider.clientConfigUpdate)
    writer.pair("activesync-url", provider.activeSyncURL)
    writer.pair("autodiscover-url", provider.autodiscoverURL)

    for server in provider.incoming:
        _server(writer, f"{base}.incoming", server)
    for server in provider.outgoing:
        _server(writer, f"{base}.outgoing", server)
    for dav in provider.calendars:
        _dav(writer, f"{base}.calendar", dav)
    for dav in provider.addressbooks:
        _dav(writer, f"{base}.addressbook", dav)
    _pages(writer, f"{base}.documentation", provider.documentation)
    _pages(writer, f"{base}.instructions", provider.instructions)
    if provider.enable is not None:
        _enable(writer, f"{base}.enable", provider.enable)
    if provider.webMail is not None:
        _webMail(writer, f"{base}.webmail", provider.webMail)
    if provider.oauth2 is not None:
        _oauth2(writer, f"{base}.oauth2", provider.oauth2)
    return "\n".join(writer.lines) + "\n"
