"""
Conversion of parsed TOML documents into registry records.

The functions here take mappings (already decoded from TOML) and never touch
the file system, so tests can feed them text directly. Each problem becomes a
L{ConfigError} that names the file, the dotted key and the reason; parsing
goes on after a problem so that one run reports every problem at once.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
from typing import Any, Callable, Iterable, Mapping, Optional, TypeVar

import attrs

from .errors import ConfigError, InvalidConfiguration
from .model import (
    AUTHENTICATION_METHODS,
    DAV_TYPES,
    INCOMING_TYPES,
    OUTGOING_TYPES,
    PLACEHOLDERS,
    SOCKET_TYPES,
    URL_TYPES,
    ZONE_LAYOUTS,
    Authentication,
    DavServer,
    Description,
    DnsSettings,
    Documentation,
    DomainEntry,
    Enable,
    LoginPageInfo,
    MtaStsPolicy,
    NotifyTarget,
    OAuth2,
    Pop3Options,
    Provider,
    Registry,
    Server,
    SoaSettings,
    TlsReporting,
    WebMail,
)
from .names import InvalidName, normalizeDomain

__all__ = ["ConfigDocument", "parseDocument", "buildRegistry", "parseText"]

T = TypeVar("T")

#: Length limits of the Autoconfig draft for display names.
MAX_DISPLAY_NAME = 60
MAX_DISPLAY_SHORT_NAME = 20

_PLACEHOLDER = re.compile(r"%([A-Za-z0-9_]+)%")
_UNTERMINATED_PLACEHOLDER = re.compile(r"%([A-Za-z0-9_]+)")
_PERCENT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
_PROVIDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_AUTH_SYSTEMS = ("sasl", "http")


class _Invalid:
    """
    Marker for a value that failed validation and was reported.
    """


INVALID: Any = _Invalid()


@attrs.define
class _Context:
    """
    Collector of problems found in one file.
    """

    path: str
    errors: list[ConfigError] = attrs.field(factory=list)
    suggested: set[str] = attrs.field(factory=set)

    def error(self, key: str, reason: str) -> Any:
        self.errors.append(ConfigError(self.path, key, reason))
        return INVALID

    def missing(self, key: str, hint: str = "") -> Any:
        """
        Report a missing key, unless an unknown key was already reported
        with this one as its suggestion (a misspelling is one problem).
        """
        if key in self.suggested:
            return INVALID
        return self.error(key, "missing" + hint)


@attrs.frozen
class _DomainClaim:
    """
    A domain named in a file, before providers are resolved.
    """

    name: str
    key: str
    path: str
    providerID: Optional[str]
    overrides: Mapping[str, Any]
    redirectAddress: Optional[str] = None
    redirectURL: Optional[str] = None


@attrs.frozen
class ConfigDocument:
    """
    The providers and domain claims of one configuration file.
    """

    path: str
    providers: tuple[Provider, ...]
    claims: tuple[_DomainClaim, ...]
    errors: tuple[ConfigError, ...]
    dns: Optional[DnsSettings] = None


# Primitive checks ------------------------------------------------------------


def _typeName(value: object) -> str:
    names = {
        str: "a string",
        int: "an integer",
        bool: "a boolean",
        float: "a number",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _string(ctx: _Context, key: str, value: object) -> Any:
    if not isinstance(value, str):
        return ctx.error(key, f"expected a string, found {_typeName(value)}")
    if not value.strip():
        return ctx.error(key, "must not be empty")
    return value


def _boolean(ctx: _Context, key: str, value: object) -> Any:
    if not isinstance(value, bool):
        return ctx.error(key, f"expected true or false, found {_typeName(value)}")
    return value


def _nonNegative(ctx: _Context, key: str, value: object) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return ctx.error(key, f"expected an integer, found {_typeName(value)}")
    if value < 0:
        return ctx.error(key, f"must not be negative, found {value}")
    return value


def _port(ctx: _Context, key: str, value: object) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return ctx.error(key, f"expected an integer port, found {_typeName(value)}")
    if not 1 <= value <= 65535:
        return ctx.error(key, f"port {value} is out of range; use 1 to 65535")
    return value


def _url(ctx: _Context, key: str, value: object) -> Any:
    text = _string(ctx, key, value)
    if text is INVALID:
        return INVALID
    if not re.match(r"^(https?|wss?)://[^\s/]+", text):
        return ctx.error(
            key, f"{text!r} is not an absolute URL; write it as https://host/path"
        )
    _placeholders(ctx, key, text, percentEncoding=True)
    return text


def _placeholders(ctx: _Context, key: str, text: str, percentEncoding: bool = False) -> None:
    """
    Report every C{%} of C{text} that does not start a known placeholder.

    Clients replace only the exact upper-case placeholders and leave anything
    else in place, so a typo such as C{%EMAILADDRESS} (no closing C{%}) would
    reach the server as a literal login name.

    @param percentEncoding: Whether C{text} is a URL, where C{%} followed by
        two hexadecimal digits is a percent-encoded byte (RFC 3986).
    """
    known = ", ".join(f"%{p}%" for p in sorted(PLACEHOLDERS))
    position = text.find("%")
    while position != -1:
        placeholder = _PLACEHOLDER.match(text, position)
        if placeholder is not None and placeholder.group(1) in PLACEHOLDERS:
            position = placeholder.end()
        elif percentEncoding and _PERCENT_ENCODED.match(text, position):
            position += 3
        elif placeholder is not None:
            ctx.error(
                key,
                f"unknown placeholder %{placeholder.group(1)}% in {text!r}; use one of {known}",
            )
            position = placeholder.end()
        else:
            ctx.error(key, _strayPercent(text, position, percentEncoding, known))
            position += 1
        position = text.find("%", position)


def _strayPercent(text: str, position: int, percentEncoding: bool, known: str) -> str:
    unterminated = _UNTERMINATED_PLACEHOLDER.match(text, position)
    if unterminated is not None and unterminated.group(1) in PLACEHOLDERS:
        name = unterminated.group(1)
        return f"placeholder %{name} in {text!r} has no closing '%'; write %{name}%"
    allowed = "a placeholder or a percent-encoded byte such as %2F" if percentEncoding else (
        "a placeholder"
    )
    return (
        f"the '%' at offset {position} of {text!r} does not start {allowed}; "
        f"placeholders are {known}"
    )


def _template(ctx: _Context, key: str, value: object) -> Any:
    text = _string(ctx, key, value)
    if text is INVALID:
        return INVALID
    _placeholders(ctx, key, text)
    return text


def _hostname(ctx: _Context, key: str, value: object) -> Any:
    text = _string(ctx, key, value)
    if text is INVALID:
        return INVALID
    if "%" in text:
        _placeholders(ctx, key, text)
        return text
    try:
        return normalizeDomain(text)
    except InvalidName as e:
        return ctx.error(key, f"invalid host name: {e}")


def _table(ctx: _Context, key: str, value: object) -> Any:
    if not isinstance(value, dict):
        return ctx.error(key, f"expected a table, found {_typeName(value)}")
    return value


def _arrayOfTables(ctx: _Context, key: str, value: object) -> Any:
    if not isinstance(value, list):
        return ctx.error(
            key, f"expected an array of tables ([[{key.rsplit('.', 1)[-1]}]]), "
            f"found {_typeName(value)}"
        )
    return value


def _checkKeys(
    ctx: _Context, key: str, table: Mapping[str, object], allowed: Iterable[str]
) -> None:
    allowedList = sorted(allowed)
    for name in table:
        if name in allowedList:
            continue
        where = f"{key}.{name}" if key else name
        close = difflib.get_close_matches(name, allowedList, n=1)
        if close:
            ctx.suggested.add(f"{key}.{close[0]}" if key else close[0])
            ctx.error(where, f"unknown key; did you mean {close[0]!r}?")
        else:
            ctx.error(where, f"unknown key; allowed keys: {', '.join(allowedList)}")


def _optional(
    ctx: _Context,
    key: str,
    table: Mapping[str, object],
    name: str,
    check: Callable[[_Context, str, object], T],
) -> Optional[T]:
    if name not in table:
        return None
    result = check(ctx, f"{key}.{name}", table[name])
    return None if result is INVALID else result


# Sections --------------------------------------------------------------------


def _authentication(ctx: _Context, key: str, value: object) -> Any:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        return ctx.error(
            key, "expected a non-empty array of methods, such as [\"password-cleartext\"]"
        )
    methods: list[Authentication] = []
    for index, item in enumerate(value):
        itemKey = f"{key}[{index}]"
        if isinstance(item, str):
            if item not in AUTHENTICATION_METHODS:
                close = difflib.get_close_matches(item, sorted(AUTHENTICATION_METHODS), n=1)
                hint = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else "use one of " + ", ".join(sorted(AUTHENTICATION_METHODS))
                    + ", or a table {method = ..., system = \"sasl\"}"
                )
                ctx.error(itemKey, f"unknown authentication method {item!r}; {hint}")
                continue
            methods.append(Authentication(item))
        elif isinstance(item, dict):
            _checkKeys(ctx, itemKey, item, ("method", "system"))
            method = _optional(ctx, itemKey, item, "method", _string)
            system = _optional(ctx, itemKey, item, "system", _string)
            if method is None:
                ctx.missing(f"{itemKey}.method")
                continue
            if system is not None and system not in _AUTH_SYSTEMS:
                ctx.error(f"{itemKey}.system", f"unknown system {system!r}; use 'sasl' or 'http'")
                continue
            if system is None and method not in AUTHENTICATION_METHODS:
                ctx.error(
                    f"{itemKey}.method",
                    f"unknown authentication method {method!r}; add system = \"sasl\" "
                    "for a SASL mechanism name",
                )
                continue
            methods.append(Authentication(method, system))
        else:
            ctx.error(itemKey, f"expected a string or a table, found {_typeName(item)}")
    return tuple(methods)


_SERVER_KEYS = {
    "type",
    "hostname",
    "port",
    "socket-type",
    "authentication",
    "username",
    "url",
    "pop3",
    "use-global-preferred-server",
    "add-this-server",
    "restriction",
    "owa-url",
    "ews-url",
    "eas-url",
}

_POP3_KEYS = {
    "leave-messages-on-server",
    "days-to-leave-messages-on-server",
    "download-on-biff",
    "check-interval-minutes",
}


def _pop3(ctx: _Context, key: str, value: object) -> Any:
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID
    _checkKeys(ctx, key, table, _POP3_KEYS)
    return Pop3Options(
        leaveMessagesOnServer=_optional(ctx, key, table, "leave-messages-on-server", _boolean),
        daysToLeaveMessagesOnServer=_optional(
            ctx, key, table, "days-to-leave-messages-on-server", _nonNegative
        ),
        downloadOnBiff=_optional(ctx, key, table, "download-on-biff", _boolean),
        checkIntervalMinutes=_optional(ctx, key, table, "check-interval-minutes", _nonNegative),
    )


def _server(ctx: _Context, key: str, value: object, allowedTypes: frozenset[str]) -> Any:
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID
    before = len(ctx.errors)
    _checkKeys(ctx, key, table, _SERVER_KEYS)

    serverType = _optional(ctx, key, table, "type", _string)
    if serverType is None:
        if "type" not in table:
            ctx.missing(f"{key}.type", "; use one of " + ", ".join(sorted(allowedTypes)))
        return INVALID
    serverType = serverType.lower()
    if serverType not in allowedTypes:
        return ctx.error(
            f"{key}.type",
            f"unknown server type {table['type']!r}; use one of "
            + ", ".join(sorted(allowedTypes)),
        )

    hostname = _optional(ctx, key, table, "hostname", _hostname)
    port = _optional(ctx, key, table, "port", _port)
    socketType = _optional(ctx, key, table, "socket-type", _string)
    if socketType is not None and socketType not in SOCKET_TYPES:
        match = [s for s in SOCKET_TYPES if s.lower() == socketType.lower()]
        hint = f"write {match[0]!r}" if match else "use SSL, STARTTLS or plain"
        ctx.error(f"{key}.socket-type", f"unknown socket type {socketType!r}; {hint}")
        socketType = None
    url = _optional(ctx, key, table, "url", _url)

    if serverType in URL_TYPES and url is None and hostname is None:
        ctx.error(key, f"a {serverType} server needs a url (or hostname and port)")
    elif serverType not in URL_TYPES and serverType != "exchange":
        for required in ("hostname", "port", "socket-type"):
            if required not in table:
                ctx.missing(f"{key}.{required}")

    authentication: tuple[Authentication, ...] = ()
    if "authentication" in table:
        result = _authentication(ctx, f"{key}.authentication", table["authentication"])
        if result is not INVALID:
            authentication = result
    elif serverType != "exchange":
        ctx.missing(f"{key}.authentication", '; for example ["password-cleartext"]')

    username = _optional(ctx, key, table, "username", _template)
    pop3 = _optional(ctx, key, table, "pop3", _pop3)
    if pop3 is not None and serverType != "pop3":
        ctx.error(f"{key}.pop3", f"only allowed on a pop3 server, not on {serverType}")

    server = Server(
        type=serverType,
        hostname=hostname,
        port=port,
        socketType=socketType,
        authentication=authentication,
        username=username,
        url=url,
        pop3=pop3,
        useGlobalPreferredServer=_optional(
            ctx, key, table, "use-global-preferred-server", _boolean
        ),
        addThisServer=_optional(ctx, key, table, "add-this-server", _boolean),
        restriction=_optional(ctx, key, table, "restriction", _string),
        owaURL=_optional(ctx, key, table, "owa-url", _url),
        ewsURL=_optional(ctx, key, table, "ews-url", _url),
        easURL=_optional(ctx, key, table, "eas-url", _url),
    )
    return INVALID if len(ctx.errors) > before else server


def _servers(
    ctx: _Context, key: str, value: object, allowedTypes: frozenset[str]
) -> tuple[Server, ...]:
    items = _arrayOfTables(ctx, key, value)
    if items is INVALID:
        return ()
    servers = []
    for index, item in enumerate(items):
        server = _server(ctx, f"{key}[{index}]", item, allowedTypes)
        if server is not INVALID:
            servers.append(server)
    return tuple(servers)


def _davServers(ctx: _Context, key: str, value: object, section: str) -> tuple[DavServer, ...]:
    items = _arrayOfTables(ctx, key, value)
    if items is INVALID:
        return ()
    allowed = DAV_TYPES[section]
    result = []
    for index, item in enumerate(items):
        itemKey = f"{key}[{index}]"
        table = _table(ctx, itemKey, item)
        if table is INVALID:
            continue
        _checkKeys(ctx, itemKey, table, ("type", "url", "authentication", "username"))
        davType = _optional(ctx, itemKey, table, "type", _string) or next(iter(allowed))
        if davType not in allowed:
            ctx.error(f"{itemKey}.type", f"use {next(iter(allowed))!r} in a {section} section")
            continue
        url = _optional(ctx, itemKey, table, "url", _url)
        if url is None:
            if "url" not in table:
                ctx.missing(f"{itemKey}.url")
            continue
        authentication: tuple[Authentication, ...] = ()
        if "authentication" in table:
            parsed = _authentication(ctx, f"{itemKey}.authentication", table["authentication"])
            if parsed is not INVALID:
                authentication = parsed
        result.append(
            DavServer(
                type=davType,
                url=url,
                authentication=authentication,
                username=_optional(ctx, itemKey, table, "username", _template),
            )
        )
    return tuple(result)


def _descriptions(ctx: _Context, key: str, value: object) -> tuple[Description, ...]:
    if isinstance(value, str):
        return (Description(value),)
    items = _arrayOfTables(ctx, key, value)
    if items is INVALID:
        return ()
    result = []
    for index, item in enumerate(items):
        itemKey = f"{key}[{index}]"
        table = _table(ctx, itemKey, item)
        if table is INVALID:
            continue
        _checkKeys(ctx, itemKey, table, ("text", "lang"))
        text = _optional(ctx, itemKey, table, "text", _string)
        if text is None:
            if "text" not in table:
                ctx.missing(f"{itemKey}.text")
            continue
        result.append(Description(text, _optional(ctx, itemKey, table, "lang", _string)))
    return tuple(result)


def _documentation(ctx: _Context, key: str, value: object) -> tuple[Documentation, ...]:
    items = _arrayOfTables(ctx, key, value)
    if items is INVALID:
        return ()
    result = []
    for index, item in enumerate(items):
        itemKey = f"{key}[{index}]"
        table = _table(ctx, itemKey, item)
        if table is INVALID:
            continue
        _checkKeys(ctx, itemKey, table, ("url", "descriptions"))
        url = _optional(ctx, itemKey, table, "url", _url)
        if url is None:
            if "url" not in table:
                ctx.missing(f"{itemKey}.url")
            continue
        descriptions: tuple[Description, ...] = ()
        if "descriptions" in table:
            descriptions = _descriptions(ctx, f"{itemKey}.descriptions", table["descriptions"])
        result.append(Documentation(url, descriptions))
    return tuple(result)


_LOGIN_PAGE_INFO_KEYS = {
    "url": "url",
    "username": "username",
    "username-field-id": "usernameFieldId",
    "username-field-name": "usernameFieldName",
    "password-field-id": "passwordFieldId",
    "password-field-name": "passwordFieldName",
    "login-button-id": "loginButtonId",
    "login-button-name": "loginButtonName",
    "wait-for-redirection-url-prefix": "waitForRedirectionURLPrefix",
}


def _webMail(ctx: _Context, key: str, value: object) -> Any:
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID
    _checkKeys(ctx, key, table, ("login-page", "login-page-info"))
    info = None
    if "login-page-info" in table:
        infoKey = f"{key}.login-page-info"
        infoTable = _table(ctx, infoKey, table["login-page-info"])
        if infoTable is not INVALID:
            _checkKeys(ctx, infoKey, infoTable, _LOGIN_PAGE_INFO_KEYS)
            fields: dict[str, Any] = {}
            for tomlKey, field in _LOGIN_PAGE_INFO_KEYS.items():
                check = _url if tomlKey in ("url", "wait-for-redirection-url-prefix") else _string
                fields[field] = _optional(ctx, infoKey, infoTable, tomlKey, check)
            if fields["url"] is None:
                if "url" not in infoTable:
                    ctx.missing(f"{infoKey}.url")
            else:
                info = LoginPageInfo(**fields)
    return WebMail(
        loginPage=_optional(ctx, key, table, "login-page", _url), loginPageInfo=info
    )


def _oauth2(ctx: _Context, key: str, value: object) -> Any:
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID
    keys = ("issuer", "scope", "auth-url", "token-url", "client-id", "client-secret")
    _checkKeys(ctx, key, table, keys)
    for required in keys[:4]:
        if required not in table:
            ctx.missing(f"{key}.{required}")
    issuer = _optional(ctx, key, table, "issuer", _string)
    scope = _optional(ctx, key, table, "scope", _string)
    authURL = _optional(ctx, key, table, "auth-url", _url)
    tokenURL = _optional(ctx, key, table, "token-url", _url)
    if issuer is None or scope is None or authURL is None or tokenURL is None:
        return INVALID
    return OAuth2(
        issuer=issuer,
        scope=scope,
        authURL=authURL,
        tokenURL=tokenURL,
        clientID=_optional(ctx, key, table, "client-id", _string),
        clientSecret=_optional(ctx, key, table, "client-secret", _string),
    )


def _enable(ctx: _Context, key: str, value: object) -> Any:
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID
    _checkKeys(ctx, key, table, ("visit-url", "instructions", "placement"))
    placement = _optional(ctx, key, table, "placement", _string) or "provider"
    if placement not in ("provider", "config"):
        ctx.error(f"{key}.placement", "use 'provider' or 'config'")
        placement = "provider"
    instructions: tuple[Description, ...] = ()
    if "instructions" in table:
        instructions = _descriptions(ctx, f"{key}.instructions", table["instructions"])
    return Enable(
        visitURL=_optional(ctx, key, table, "visit-url", _url),
        instructions=instructions,
        placement=placement,
    )


def _displayName(limit: int) -> Callable[[_Context, str, object], Any]:
    def check(ctx: _Context, key: str, value: object) -> Any:
        text = _string(ctx, key, value)
        if text is INVALID:
            return INVALID
        if len(text) > limit:
            return ctx.error(
                key, f"{len(text)} characters is over the limit of {limit}; shorten it"
            )
        return text

    return check


#: Keys that set provider fields, shared by provider tables and domain
#: overrides, with the field each one sets.
_SETTING_KEYS: dict[str, str] = {
    "display-name": "displayName",
    "display-short-name": "displayShortName",
    "incoming": "incoming",
    "outgoing": "outgoing",
    "calendar": "calendars",
    "addressbook": "addressbooks",
    "documentation": "documentation",
    "instructions": "instructions",
    "webmail": "webMail",
    "oauth2": "oauth2",
    "enable": "enable",
    "client-config-update": "clientConfigUpdate",
    "activesync-url": "activeSyncURL",
    "autodiscover-url": "autodiscoverURL",
    "mta-sts": "mtaSts",
    "tls-rpt": "tlsReporting",
}


def _settings(ctx: _Context, key: str, table: Mapping[str, object]) -> dict[str, Any]:
    """
    Convert the provider settings present in C{table} to record fields.
    """
    fields: dict[str, Any] = {}
    for tomlKey, field in _SETTING_KEYS.items():
        if tomlKey not in table:
            continue
        value = table[tomlKey]
        where = f"{key}.{tomlKey}"
        result: Any
        if tomlKey == "display-name":
            result = _displayName(MAX_DISPLAY_NAME)(ctx, where, value)
        elif tomlKey == "display-short-name":
            result = _displayName(MAX_DISPLAY_SHORT_NAME)(ctx, where, value)
        elif tomlKey == "incoming":
            result = _servers(ctx, where, value, INCOMING_TYPES)
        elif tomlKey == "outgoing":
            result = _servers(ctx, where, value, OUTGOING_TYPES)
        elif tomlKey in ("calendar", "addressbook"):
            result = _davServers(ctx, where, value, tomlKey)
        elif tomlKey in ("documentation", "instructions"):
            result = _documentation(ctx, where, value)
        elif tomlKey == "webmail":
            result = _webMail(ctx, where, value)
        elif tomlKey == "oauth2":
            result = _oauth2(ctx, where, value)
        elif tomlKey == "enable":
            result = _enable(ctx, where, value)
        elif tomlKey in ("activesync-url", "autodiscover-url"):
            result = _httpsURL(ctx, where, value, frozenset({"EMAILDOMAIN"}))
        elif tomlKey == "mta-sts":
            result = _mtaSts(ctx, where, value)
        elif tomlKey == "tls-rpt":
            result = _tlsReporting(ctx, where, value)
        else:
            result = _url(ctx, where, value)
        if result is not INVALID:
            fields[field] = result
    return fields


def _checkProvider(ctx: _Context, key: str, provider: Provider) -> None:
    """
    Check rules that span several fields of an effective provider.
    """
    mailTypes = {"imap", "pop3"}
    if any(s.type in mailTypes for s in provider.incoming) and not provider.outgoing:
        ctx.error(
            f"{key}.outgoing",
            "missing; a provider with IMAP or POP3 needs at least one SMTP server, "
            "because clients reject a configuration without one",
        )
    if not provider.incoming and provider.outgoing:
        ctx.missing(f"{key}.incoming", "; add at least one incoming server")


# Documents -------------------------------------------------------------------

_PROVIDER_KEYS = set(_SETTING_KEYS) | {"domains"}
_DOMAIN_KEYS = set(_SETTING_KEYS) | {"provider", "redirect-address", "redirect-url"}


def _provider(ctx: _Context, providerID: str, value: object) -> tuple[Any, list[_DomainClaim]]:
    key = f"providers.{providerID}"
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID, []
    if not _PROVIDER_ID.match(providerID):
        ctx.error(key, "provider names use letters, digits, '.', '_' and '-' only")
    _checkKeys(ctx, key, table, _PROVIDER_KEYS)
    before = len(ctx.errors)
    provider = Provider(id=providerID, source=ctx.path, **_settings(ctx, key, table))
    if len(ctx.errors) == before:
        _checkProvider(ctx, key, provider)

    claims = []
    if "domains" in table:
        names = table["domains"]
        if not isinstance(names, list):
            ctx.error(f"{key}.domains", f"expected an array of domain names, found {_typeName(names)}")
            names = []
        for index, name in enumerate(names):
            where = f"{key}.domains[{index}]"
            if not isinstance(name, str):
                ctx.error(where, f"expected a domain name, found {_typeName(name)}")
                continue
            try:
                normalized = normalizeDomain(name)
            except InvalidName as e:
                ctx.error(where, str(e))
                continue
            claims.append(_DomainClaim(normalized, where, ctx.path, providerID, {}))
    return provider, claims


def _domain(ctx: _Context, name: str, value: object) -> Any:
    key = f"domains.{_quoteKey(name)}"
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID
    try:
        normalized = normalizeDomain(name)
    except InvalidName as e:
        return ctx.error(key, str(e))
    _checkKeys(ctx, key, table, _DOMAIN_KEYS)
    providerID = _optional(ctx, key, table, "provider", _string)
    if providerID is None and "provider" not in table:
        ctx.missing(f"{key}.provider", "; name the provider that serves this domain")
    overrides = _settings(ctx, key, table)
    redirectAddress, redirectURL = _redirects(ctx, key, table, normalized)
    return _DomainClaim(
        normalized,
        key,
        ctx.path,
        providerID,
        overrides,
        redirectAddress=redirectAddress,
        redirectURL=redirectURL,
    )


# Autodiscover ----------------------------------------------------------------

_HTTPS_URL = re.compile(r"^https://[^\s/?#@]+(/\S*)?$")


def _httpsURL(ctx: _Context, key: str, value: object, allowed: frozenset[str]) -> Any:
    """
    Check an https URL that mailfront sends to clients as it is, in XML,
    JSON and the Location header.

    @param allowed: Placeholder names the URL may contain.
    """
    text = _string(ctx, key, value)
    if text is INVALID:
        return INVALID
    printable = text.isascii() and text.isprintable()
    if not printable or not _HTTPS_URL.match(text):
        return ctx.error(
            key,
            f"{text!r} is not an https URL in ASCII; write it as https://host/path, "
            "with A-labels for international host names and percent-encoded paths",
        )
    before = len(ctx.errors)
    _placeholders(ctx, key, text, percentEncoding=True)
    if len(ctx.errors) > before:
        return INVALID
    for name in _PLACEHOLDER.findall(text):
        if name in PLACEHOLDERS and name not in allowed:
            hint = "use %EMAILDOMAIN% only" if allowed else "write the URL without placeholders"
            return ctx.error(key, f"placeholder %{name}% is not allowed here; {hint}")
    return text


def _redirects(
    ctx: _Context, key: str, table: Mapping[str, object], domain: str
) -> tuple[Optional[str], Optional[str]]:
    """
    Check the C{redirect-address} and C{redirect-url} of a domain table.

    @param domain: The normalized domain of the table.
    @return: The valid redirect address and URL, C{None} for each that is
        absent or invalid.
    """
    address = url = None
    if "redirect-address" in table:
        address = _redirectAddress(
            ctx, f"{key}.redirect-address", table["redirect-address"], domain
        )
    if "redirect-url" in table:
        url = _httpsURL(ctx, f"{key}.redirect-url", table["redirect-url"], frozenset())
    if "redirect-address" in table and "redirect-url" in table:
        ctx.error(
            f"{key}.redirect-url",
            "set either redirect-address or redirect-url, not both, because an "
            "Autodiscover response carries one redirect",
        )
    return (
        None if address is INVALID else address,
        None if url is INVALID else url,
    )


def _redirectAddress(ctx: _Context, key: str, value: object, domain: str) -> Any:
    """
    Check a C{redirect-address}: an address in another domain whose local
    part may be C{%EMAILLOCALPART%}.

    @param domain: The normalized domain that redirects.
    @return: The address with its domain normalized.
    """
    text = _string(ctx, key, value)
    if text is INVALID:
        return INVALID
    localPart, at, target = text.rpartition("@")
    if not at or not localPart or not localPart.isprintable() or " " in localPart:
        return ctx.error(
            key, f"{text!r} is not an email address; write it as %EMAILLOCALPART%@other.example"
        )
    for name in _PLACEHOLDER.findall(text):
        if name != "EMAILLOCALPART":
            return ctx.error(
                key, f"placeholder %{name}% is not allowed here; use %EMAILLOCALPART% only"
            )
    try:
        targetDomain = normalizeDomain(target)
    except InvalidName as e:
        return ctx.error(key, f"invalid domain: {e}")
    if targetDomain == domain:
        return ctx.error(
            key, f"redirects {domain} to itself, so clients would ask again forever; "
            "name another domain"
        )
    return f"{localPart}@{targetDomain}"


def _quoteKey(name: str) -> str:
    if re.match(r"^[A-Za-z0-9_-]+$", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parseDocument(path: str, document: Mapping[str, object]) -> ConfigDocument:
    """
    Convert one decoded TOML document into providers and domain claims.

    @param path: The file name to put in messages.
    @param document: The decoded TOML.
    @return: What the document defines, with every problem found.
    """
    ctx = _Context(path)
    _checkKeys(ctx, "", document, ("providers", "domains", "dns"))
    providers: list[Provider] = []
    claims: list[_DomainClaim] = []

    providerTables = document.get("providers", {})
    if _table(ctx, "providers", providerTables) is not INVALID:
        assert isinstance(providerTables, dict)
        for providerID, value in providerTables.items():
            provider, listed = _provider(ctx, providerID, value)
            if provider is not INVALID:
                providers.append(provider)
            claims.extend(listed)

    domainTables = document.get("domains", {})
    if _table(ctx, "domains", domainTables) is not INVALID:
        assert isinstance(domainTables, dict)
        for name, value in domainTables.items():
            claim = _domain(ctx, name, value)
            if claim is not INVALID:
                claims.append(claim)

    dns = None
    if "dns" in document:
        dns = _dnsSettings(ctx, document["dns"])

    return ConfigDocument(
        path, tuple(providers), tuple(claims), tuple(ctx.errors), None if dns is INVALID else dns
    )


def parseText(path: str, text: str) -> ConfigDocument:
    """
    Decode TOML text and convert it with L{parseDocument}.

    @param path: The file name to put in messages.
    @param text: The file's contents.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        error = ConfigError(path, "", f"invalid TOML: {e}")
        return ConfigDocument(path, (), (), (error,))
    return parseDocument(path, document)


# Registry --------------------------------------------------------------------


def buildRegistry(documents: Iterable[ConfigDocument]) -> Registry:
    """
    Resolve providers and domain claims of several documents into a registry.

    A domain may be listed by its provider and also have a table of overrides
    in any file, as long as both name the same provider.

    @raise InvalidConfiguration: With every problem of every document, if any.
    """
    documents = list(documents)
    errors: list[ConfigError] = [e for d in documents for e in d.errors]
    providers: dict[str, Provider] = {}
    for document in documents:
        for provider in document.providers:
            if provider.id in providers:
                errors.append(
                    ConfigError(
                        document.path,
                        f"providers.{provider.id}",
                        f"provider {provider.id!r} is already defined in "
                        f"{providers[provider.id].source}",
                    )
                )
                continue
            providers[provider.id] = provider

    listed: dict[str, _DomainClaim] = {}
    tables: dict[str, _DomainClaim] = {}
    for document in documents:
        for claim in document.claims:
            target = tables if claim.key.startswith("domains.") else listed
            previous = target.get(claim.name)
            if previous is not None:
                if target is listed and previous.providerID == claim.providerID:
                    continue
                if target is listed:
                    reason = (
                        f"domain {claim.name!r} is claimed by provider "
                        f"{previous.providerID!r} ({previous.path}, {previous.key}) and by "
                        f"provider {claim.providerID!r}; a domain has exactly one provider"
                    )
                else:
                    reason = (
                        f"domain {claim.name!r} is already defined in {previous.path} "
                        f"({previous.key})"
                    )
                errors.append(ConfigError(claim.path, claim.key, reason))
                continue
            target[claim.name] = claim

    domains: dict[str, DomainEntry] = {}
    for name, claim in listed.items():
        provider = providers.get(claim.providerID or "")
        if provider is not None:
            domains[name] = DomainEntry(name, provider, claim.path)

    for name, claim in tables.items():
        entry = _resolveTable(claim, listed.get(name), providers, errors)
        if entry is not None:
            domains[name] = entry

    dns = _uniqueDnsSettings(documents, errors)
    if dns is not None:
        _checkNameServers(dns, domains, errors)

    if errors:
        raise InvalidConfiguration(errors)
    return Registry(providers=providers, domains=domains, dns=dns)


def _resolveTable(
    claim: _DomainClaim,
    listing: Optional[_DomainClaim],
    providers: Mapping[str, Provider],
    errors: list[ConfigError],
) -> Optional[DomainEntry]:
    if claim.providerID is None:
        return None
    provider = providers.get(claim.providerID)
    if provider is None:
        known = difflib.get_close_matches(claim.providerID, sorted(providers), n=1)
        hint = f"; did you mean {known[0]!r}?" if known else ""
        errors.append(
            ConfigError(
                claim.path,
                f"{claim.key}.provider",
                f"unknown provider {claim.providerID!r}{hint}",
            )
        )
        return None
    if listing is not None and listing.providerID != claim.providerID:
        errors.append(
            ConfigError(
                claim.path,
                f"{claim.key}.provider",
                f"domain {claim.name!r} is claimed by provider {listing.providerID!r} "
                f"({listing.path}, {listing.key}) and by provider {claim.providerID!r}; "
                "a domain has exactly one provider",
            )
        )
        return None
    if claim.overrides:
        provider = attrs.evolve(provider, **claim.overrides)
        ctx = _Context(claim.path)
        _checkProvider(ctx, claim.key, provider)
        if ctx.errors:
            errors.extend(ctx.errors)
            return None
    return DomainEntry(
        claim.name,
        provider,
        claim.path,
        redirectAddress=claim.redirectAddress,
        redirectURL=claim.redirectURL,
    )


# DNS -------------------------------------------------------------------------

#: Largest TTL DNS allows (RFC 2181).
MAX_TTL = 2**31 - 1

#: TTL of the records when the C{[dns]} table sets none, in seconds.
DEFAULT_TTL = 3600

#: Largest C{max_age} of an MTA-STS policy (RFC 8461).
MAX_MTA_STS_AGE = 31557600

_MTA_STS_MODES = ("enforce", "testing", "none")
_MTA_STS_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_RUA_MAILTO = re.compile(r"^mailto:[^@\s,;!]+@[A-Za-z0-9.-]+$")
_RUA_HTTPS = re.compile(r"^https://[^\s,;!/]+(/[^\s,;!]*)?$")
_MAILBOX_LOCAL_PART = re.compile(r"^[A-Za-z0-9_+-]+$")

_DNS_KEYS = (
    "ttl",
    "name-servers",
    "zone-layout",
    "mailfront-hostname",
    "mailfront-addresses",
    "allow-transfer",
    "notify",
    "soa",
)
_SOA_KEYS = ("mname", "rname", "refresh", "retry", "expire", "minimum")


def _seconds(ctx: _Context, key: str, value: object) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return ctx.error(key, f"expected an integer number of seconds, found {_typeName(value)}")
    if not 0 <= value <= MAX_TTL:
        return ctx.error(key, f"{value} is out of range; use 0 to {MAX_TTL} seconds")
    return value


def _plainHostname(ctx: _Context, key: str, value: object) -> Any:
    text = _string(ctx, key, value)
    if text is INVALID:
        return INVALID
    if "%" in text:
        return ctx.error(key, f"{text!r}: placeholders are not allowed in DNS names")
    try:
        return normalizeDomain(text)
    except InvalidName as e:
        return ctx.error(key, f"invalid host name: {e}")


def _stringList(ctx: _Context, key: str, value: object) -> Optional[list[str]]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        ctx.error(key, f"expected a non-empty array of strings, found {_typeName(value)}")
        return None
    result = []
    for index, item in enumerate(value):
        text = _string(ctx, f"{key}[{index}]", item)
        if text is not INVALID:
            result.append(text)
    return result


def _checkedList(
    ctx: _Context, key: str, value: object, check: Callable[[_Context, str, str], Any]
) -> Any:
    """
    Check each string of an array (or a single string), and return the valid
    results without duplicates, in order.
    """
    items = _stringList(ctx, key, value)
    if items is None:
        return INVALID
    results = [check(ctx, f"{key}[{index}]", item) for index, item in enumerate(items)]
    return tuple(dict.fromkeys(result for result in results if result is not INVALID))


def _hostnames(ctx: _Context, key: str, value: object) -> Any:
    return _checkedList(ctx, key, value, _plainHostname)


def _mtaStsHost(ctx: _Context, key: str, text: str) -> Any:
    if text.startswith("*."):
        suffix = _plainHostname(ctx, key, text[2:])
        return INVALID if suffix is INVALID else f"*.{suffix}"
    return _plainHostname(ctx, key, text)


def _mtaSts(ctx: _Context, key: str, value: object) -> Any:
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID
    before = len(ctx.errors)
    _checkKeys(ctx, key, table, ("mode", "mx", "max-age", "id"))

    mode = _optional(ctx, key, table, "mode", _string)
    if mode is None and "mode" not in table:
        ctx.error(f"{key}.mode", "missing; use enforce, testing or none")
    elif mode is not None and mode not in _MTA_STS_MODES:
        ctx.error(f"{key}.mode", f"unknown mode {mode!r}; use enforce, testing or none")

    mx: tuple[str, ...] = ()
    if "mx" in table:
        mx = _checkedList(ctx, f"{key}.mx", table["mx"], _mtaStsHost)
    elif mode in ("enforce", "testing"):
        ctx.error(f"{key}.mx", "missing; list the host names of the mail exchangers")

    maxAge = _optional(ctx, key, table, "max-age", _nonNegative)
    if maxAge is not None and maxAge > MAX_MTA_STS_AGE:
        ctx.error(f"{key}.max-age", f"{maxAge} is over the limit of {MAX_MTA_STS_AGE} seconds")
    policyID = _optional(ctx, key, table, "id", _string)
    if policyID is not None and not _MTA_STS_ID.match(policyID):
        ctx.error(f"{key}.id", f"{policyID!r} is not 1 to 32 letters and digits")

    if len(ctx.errors) > before or mode is None:
        return INVALID
    return MtaStsPolicy(
        mode=mode, mx=mx, maxAge=604800 if maxAge is None else maxAge, id=policyID
    )


def _tlsReporting(ctx: _Context, key: str, value: object) -> Any:
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID
    _checkKeys(ctx, key, table, ("rua",))
    if "rua" not in table:
        return ctx.error(f"{key}.rua", "missing; for example [\"mailto:tlsrpt@example.net\"]")
    items = _stringList(ctx, f"{key}.rua", table["rua"])
    if items is None:
        return INVALID
    before = len(ctx.errors)
    for index, uri in enumerate(items):
        if not (_RUA_MAILTO.match(uri) or _RUA_HTTPS.match(uri)):
            ctx.error(
                f"{key}.rua[{index}]",
                f"{uri!r} is not a mailto:local@domain or https:// URI without spaces, "
                "commas, semicolons or '!'",
            )
    if len(ctx.errors) > before:
        return INVALID
    return TlsReporting(tuple(items))


def _address(ctx: _Context, key: str, text: str) -> Any:
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return ctx.error(key, f"{text!r} is not an IPv4 or IPv6 address")


def _network(ctx: _Context, key: str, text: str) -> Any:
    try:
        return ipaddress.ip_network(text, strict=True).compressed
    except ValueError as e:
        return ctx.error(key, f"{text!r} is not an address or network: {e}")


def _notifyTarget(ctx: _Context, key: str, text: str) -> Any:
    """
    Parse C{192.0.2.53}, C{192.0.2.53:5300}, C{2001:db8::53} or
    C{[2001:db8::53]:5300}.
    """
    host, port = text, 53
    bracketed = re.match(r"^\[([^\]]+)\](?::(\d+))?$", text)
    if bracketed:
        host = bracketed.group(1)
        port = int(bracketed.group(2) or 53)
    elif text.count(":") == 1:
        host, _, portText = text.partition(":")
        if not portText.isdigit():
            return ctx.error(key, f"{text!r}: the port after ':' must be a number")
        port = int(portText)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return ctx.error(
            key, f"{text!r} is not an address, address:port or [IPv6 address]:port"
        )
    if _port(ctx, key, port) is INVALID:
        return INVALID
    return NotifyTarget(address.compressed, port)


def _addressList(ctx: _Context, key: str, value: object) -> Any:
    return _checkedList(ctx, key, value, _address)


def _networkList(ctx: _Context, key: str, value: object) -> Any:
    return _checkedList(ctx, key, value, _network)


def _notifyList(ctx: _Context, key: str, value: object) -> Any:
    return _checkedList(ctx, key, value, _notifyTarget)


def _mailbox(ctx: _Context, key: str, value: object) -> Any:
    """
    Convert C{hostmaster@example.net} to the SOA RNAME form
    C{hostmaster.example.net}.
    """
    text = _string(ctx, key, value)
    if text is INVALID:
        return INVALID
    localPart, at, domain = text.rpartition("@")
    if not at:
        return ctx.error(key, f"{text!r} is not an email address such as hostmaster@example.net")
    if not _MAILBOX_LOCAL_PART.match(localPart):
        return ctx.error(
            key,
            f"the local part {localPart!r} must be letters, digits, '_', '+' or '-', because "
            "it becomes one DNS label; use a mailbox such as hostmaster@",
        )
    normalized = _plainHostname(ctx, key, domain)
    if normalized is INVALID:
        return INVALID
    return f"{localPart}.{normalized}"


def _soaSettings(ctx: _Context, key: str, value: object) -> Any:
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID
    before = len(ctx.errors)
    _checkKeys(ctx, key, table, _SOA_KEYS)
    rname = _optional(ctx, key, table, "rname", _mailbox)
    if "rname" not in table:
        ctx.error(f"{key}.rname", "missing; the mailbox responsible for the zones, such as "
                  "hostmaster@example.net")
    fields: dict[str, Any] = {}
    for name in ("refresh", "retry", "expire", "minimum"):
        seconds = _optional(ctx, key, table, name, _seconds)
        if seconds is not None:
            fields[name] = seconds
    mname = _optional(ctx, key, table, "mname", _plainHostname)
    if len(ctx.errors) > before or rname is None:
        return INVALID
    return SoaSettings(rname=rname, mname=mname, **fields)


def _dnsSettings(ctx: _Context, value: object) -> Any:
    key = "dns"
    table = _table(ctx, key, value)
    if table is INVALID:
        return INVALID
    before = len(ctx.errors)
    _checkKeys(ctx, key, table, _DNS_KEYS)

    ttl = _optional(ctx, key, table, "ttl", _seconds)
    nameServers = _optional(ctx, key, table, "name-servers", _hostnames)
    if "name-servers" not in table:
        ctx.error(f"{key}.name-servers", "missing; the host names of the NS records of every zone")
    if "soa" in table:
        soa = _soaSettings(ctx, f"{key}.soa", table["soa"])
    else:
        soa = ctx.error(f"{key}.soa", "missing; add a [dns.soa] table with at least rname")
    layout = _optional(ctx, key, table, "zone-layout", _string) or "subdomains"
    if layout not in ZONE_LAYOUTS:
        ctx.error(f"{key}.zone-layout", f"unknown layout {layout!r}; use "
                  + " or ".join(repr(name) for name in ZONE_LAYOUTS))

    hostname = _optional(ctx, key, table, "mailfront-hostname", _plainHostname)
    addresses = _optional(ctx, key, table, "mailfront-addresses", _addressList) or ()
    if hostname is not None and addresses:
        ctx.error(
            f"{key}.mailfront-addresses",
            "set mailfront-hostname or mailfront-addresses, not both: a name with a CNAME "
            "record cannot have A or AAAA records",
        )

    settings = DnsSettings(
        ttl=DEFAULT_TTL if ttl is None else ttl,
        nameServers=nameServers or (),
        soa=soa,
        zoneLayout=layout,
        mailfrontHostname=hostname,
        mailfrontAddresses=addresses,
        allowTransfer=_optional(ctx, key, table, "allow-transfer", _networkList) or (),
        notify=_optional(ctx, key, table, "notify", _notifyList) or (),
        source=ctx.path,
    )
    return INVALID if len(ctx.errors) > before else settings


def _uniqueDnsSettings(
    documents: Iterable[ConfigDocument], errors: list[ConfigError]
) -> Optional[DnsSettings]:
    found: Optional[DnsSettings] = None
    for document in documents:
        if document.dns is None:
            continue
        if found is not None:
            errors.append(
                ConfigError(
                    document.path, "dns", f"the [dns] table is already defined in {found.source}"
                )
            )
            continue
        found = document.dns
    return found


def _checkNameServers(
    dns: DnsSettings, domains: Mapping[str, DomainEntry], errors: list[ConfigError]
) -> None:
    """
    Reject name servers inside a zone mailfront serves as a whole domain,
    because such a zone would need address records (glue) for them.
    """
    if dns.zoneLayout != "domain":
        return
    for index, name in enumerate(dns.nameServers):
        labels = name.split(".")
        for start in range(len(labels)):
            zone = ".".join(labels[start:])
            if zone in domains:
                errors.append(
                    ConfigError(
                        dns.source,
                        f"dns.name-servers[{index}]",
                        f"{name} is inside the zone {zone} that mailfront serves with "
                        "zone-layout = \"domain\", and mailfront publishes no address "
                        "records for name servers; use a name server outside the served zones",
                    )
                )
                break
