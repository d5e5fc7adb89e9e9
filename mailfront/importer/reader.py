"""
Reading of Autoconfig files (C{config-v1.1.xml}) into registry records.

The reader accepts what administrators serve by hand and what Thunderbird's
ISP database holds. It keeps everything the registry can express, repairs
mistakes that have exactly one sensible reading (and reports each repair as a warning),
drops what the registry cannot express (again with a warning), and rejects
a file whose server settings are broken, naming the line and the element.
"""

from __future__ import annotations

import re
from typing import Callable, Iterator, Optional

import attrs
from lxml import etree

from ..registry.model import (
    AUTHENTICATION_METHODS,
    DAV_TYPES,
    INCOMING_TYPES,
    OUTGOING_TYPES,
    PLACEHOLDERS,
    SOCKET_TYPES,
    URL_TYPES,
    Authentication,
    DavServer,
    Description,
    Documentation,
    Enable,
    LoginPageInfo,
    OAuth2,
    Pop3Options,
    Provider,
    Server,
    WebMail,
)
from ..registry.names import InvalidName, normalizeDomain
from ..registry.parse import MAX_DISPLAY_NAME, MAX_DISPLAY_SHORT_NAME
from ..safexml import UntrustedXMLError, parseUntrusted
from .diagnostics import Diagnostic, ImportFailed

__all__ = ["MAX_FILE_SIZE", "ImportedFile", "readAutoconfig", "providerID"]

#: Largest file read. The largest of the 108 ISP database files used in the
#: tests is under 9 KiB, so this leaves room for any real configuration.
MAX_FILE_SIZE = 1024 * 1024

#: Elements that the registry cannot express, with the reason given when one
#: is dropped.
_UNSUPPORTED = {
    "password": "a served configuration never carries passwords",
    "inputField": "the registry has no input fields",
    "fileShare": "the registry has no file share services",
    "chatServer": "the registry has no chat services",
    "videoConference": "the registry has no video conference services",
    "setupServer": "the registry has no setup services",
}

# A known placeholder name after a "%", with or without its closing "%", in
# any letter case.
_PLACEHOLDER_LIKE = re.compile("%(" + "|".join(sorted(PLACEHOLDERS)) + ")(%?)", re.IGNORECASE)
_ID_UNSAFE = re.compile(r"[^a-z0-9._-]+")


@attrs.frozen
class ImportedFile:
    """
    The content of one Autoconfig file, converted.

    @ivar path: The source file, as given.
    @ivar provider: The provider; its C{id} is derived from the source's
        C{emailProvider id}.
    @ivar domains: The normalized domains, each once, in source order.
    @ivar comments: The text of the source's XML comments, in order.
    @ivar warnings: What was repaired or dropped.
    """

    path: str
    provider: Provider
    domains: tuple[str, ...]
    comments: tuple[str, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()


def providerID(name: str) -> str:
    """
    Derive a provider id from an C{emailProvider id} or a domain.

    Domain names become their lower-case A-label form; other names are
    lower-cased and every run of characters other than letters, digits,
    C{.}, C{_} and C{-} becomes one C{-}.

    @return: The id, or an empty string when nothing usable is left.
    """
    try:
        return normalizeDomain(name)
    except InvalidName:
        pass
    return _ID_UNSAFE.sub("-", name.strip().lower()).strip("-._")


def _elements(parent: etree._Element) -> Iterator[etree._Element]:
    for child in parent:
        if isinstance(child.tag, str):
            yield child


def _text(element: etree._Element) -> str:
    value: str = element.xpath("string()")
    return value.strip()


def _truncate(text: str, limit: int) -> str:
    cut = text[:limit]
    if text[limit : limit + 1] not in ("", " ") and " " in cut.strip():
        cut = cut[: cut.rstrip().rindex(" ")]
    return cut.rstrip(" ,;:-")


class _Reader:
    """
    Converter of one parsed file, collecting errors and warnings.
    """

    def __init__(self, path: str, root: etree._Element) -> None:
        self.path = path
        self.tree = root.getroottree()
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.notes: list[str] = []

    def _diagnostic(self, element: Optional[etree._Element], message: str) -> Diagnostic:
        if element is None:
            return Diagnostic(self.path, None, "", message)
        return Diagnostic(self.path, element.sourceline, self.tree.getpath(element), message)

    def error(self, element: Optional[etree._Element], message: str) -> None:
        self.errors.append(self._diagnostic(element, message))

    def warn(self, element: Optional[etree._Element], message: str) -> None:
        self.warnings.append(self._diagnostic(element, message))

    def skip(self, element: etree._Element) -> None:
        reason = _UNSUPPORTED.get(element.tag, "unknown element; clients ignore it")
        self.warn(element, f"not imported: {reason}")

    # Values ------------------------------------------------------------------

    def template(self, element: etree._Element, value: str) -> str:
        """
        Repair placeholders that miss their closing C{%} or are not upper case.
        """

        def repair(match: re.Match[str]) -> str:
            fixed = f"%{match.group(1).upper()}%"
            if match.group(0) != fixed:
                self.warn(element, f"placeholder {match.group(0)!r} written as {fixed!r}")
            return fixed

        return _PLACEHOLDER_LIKE.sub(repair, value)

    def string(self, element: etree._Element) -> Optional[str]:
        value = _text(element)
        if not value:
            self.warn(element, "empty; not imported")
            return None
        return value

    def templateText(self, element: etree._Element) -> Optional[str]:
        value = self.string(element)
        return None if value is None else self.template(element, value)

    def templateAttribute(self, element: etree._Element, name: str) -> Optional[str]:
        value = (element.get(name) or "").strip()
        if not value:
            return None
        return self.template(element, value)

    def boolean(self, element: etree._Element) -> Optional[bool]:
        value = _text(element).lower()
        if value not in ("true", "false"):
            self.error(element, f"{_text(element)!r} is not true or false")
            return None
        return value == "true"

    def integer(self, element: etree._Element, value: str, label: str) -> Optional[int]:
        if not (value.isascii() and value.isdigit()):
            self.error(element, f"{label} {value!r} is not a whole number")
            return None
        return int(value)

    def single(self, parent: etree._Element, tag: str) -> Optional[etree._Element]:
        """
        Find the first child named C{tag}, warning about any later one.
        """
        found = parent.findall(tag)
        for extra in found[1:]:
            self.warn(extra, f"repeated <{tag}>; only the first one is imported")
        return found[0] if found else None

    # Authentication ------------------------------------------------------------

    def authentication(self, element: etree._Element) -> Optional[Authentication]:
        method = _text(element)
        system = (element.get("system") or "").strip()
        if not method:
            self.warn(element, "empty; not imported")
            return None
        if system:
            if system.lower() not in ("sasl", "http"):
                self.warn(element, f"unknown system {system!r}; clients skip this method")
                return None
            return Authentication(method, system.lower())
        if method in AUTHENTICATION_METHODS:
            return Authentication(method)
        matches = [known for known in AUTHENTICATION_METHODS if known.lower() == method.lower()]
        if matches:
            self.warn(element, f"{method!r} written as {matches[0]!r}, the case clients expect")
            return Authentication(matches[0])
        self.warn(element, f"unknown authentication method {method!r}; clients skip it")
        return None

    def authentications(
        self, section: etree._Element, required: bool
    ) -> tuple[Authentication, ...]:
        elements = section.findall("authentication")
        methods = [self.authentication(element) for element in elements]
        result = tuple(method for method in methods if method is not None)
        if elements and not result:
            self.error(section, "no usable <authentication> method is left")
        elif required and not elements:
            self.error(section, "no <authentication>; add one, such as password-cleartext")
        return result

    # Servers -----------------------------------------------------------------

    def serverType(self, section: etree._Element, allowed: frozenset[str]) -> Optional[str]:
        raw = (section.get("type") or "").strip()
        if not raw:
            self.error(section, 'no type attribute; write for example type="imap"')
            return None
        serverType = raw.lower()
        if serverType not in allowed:
            self.warn(section, f"server type {raw!r} is not supported; server not imported")
            return None
        return serverType

    def socketType(self, element: etree._Element) -> Optional[str]:
        value = _text(element)
        if value in SOCKET_TYPES:
            return value
        matches = [known for known in SOCKET_TYPES if known.lower() == value.lower()]
        if matches:
            self.warn(element, f"{value!r} written as {matches[0]!r}, the case clients expect")
            return matches[0]
        self.error(element, f"socket type {value!r} is not SSL, STARTTLS or plain")
        return None

    def port(self, element: etree._Element) -> Optional[int]:
        return self.integer(element, _text(element), "port")

    def pop3(self, element: etree._Element) -> Pop3Options:
        fields: dict[str, object] = {}
        for child in _elements(element):
            if child.tag == "leaveMessagesOnServer":
                fields["leaveMessagesOnServer"] = self.boolean(child)
            elif child.tag == "downloadOnBiff":
                fields["downloadOnBiff"] = self.boolean(child)
            elif child.tag == "daysToLeaveMessagesOnServer":
                fields["daysToLeaveMessagesOnServer"] = self.integer(
                    child, _text(child), "number of days"
                )
            elif child.tag == "checkInterval":
                fields["checkIntervalMinutes"] = self.integer(
                    child, (child.get("minutes") or "").strip(), "minutes"
                )
            else:
                self.skip(child)
        return Pop3Options(**fields)

    def server(self, section: etree._Element, allowed: frozenset[str]) -> Optional[Server]:
        serverType = self.serverType(section, allowed)
        if serverType is None:
            return None
        before = len(self.errors)
        fields: dict[str, object] = {"type": serverType}
        # Each child element sets the Server field of the same name.
        readers: dict[str, Callable[[etree._Element], object]] = {
            "hostname": self.templateText,
            "port": self.port,
            "socketType": self.socketType,
            "username": self.templateText,
            "url": self.templateText,
            "useGlobalPreferredServer": self.boolean,
            "addThisServer": self.boolean,
            "restriction": self.string,
            "owaURL": self.templateText,
            "ewsURL": self.templateText,
            "easURL": self.templateText,
        }
        for child in _elements(section):
            tag = child.tag
            if tag == "authentication":
                continue
            if tag == "pop3":
                if serverType != "pop3":
                    self.warn(child, f"POP3 options on a {serverType} server; not imported")
                elif "pop3" in fields:
                    self.warn(child, "repeated <pop3>; only the first one is imported")
                else:
                    fields["pop3"] = self.pop3(child)
                continue
            if tag not in readers:
                self.skip(child)
                continue
            if tag in fields:
                self.warn(child, f"repeated <{tag}>; only the first one is imported")
                continue
            fields[tag] = readers[tag](child)
        fields["authentication"] = self.authentications(section, serverType != "exchange")
        if len(self.errors) == before:
            self.requireAddress(section, serverType, fields)
        if len(self.errors) > before:
            return None
        return Server(**fields)

    def requireAddress(
        self, section: etree._Element, serverType: str, fields: dict[str, object]
    ) -> None:
        if serverType in URL_TYPES:
            if fields.get("url") is None and fields.get("hostname") is None:
                self.error(section, f"a {serverType} server needs a <url>")
            return
        if serverType == "exchange":
            return
        missing = [tag for tag in ("hostname", "port", "socketType") if fields.get(tag) is None]
        if missing:
            self.error(section, "no " + ", ".join(f"<{tag}>" for tag in missing))

    def servers(
        self, parent: etree._Element, tag: str, allowed: frozenset[str]
    ) -> tuple[Server, ...]:
        result = (self.server(section, allowed) for section in parent.findall(tag))
        return tuple(server for server in result if server is not None)

    def dav(self, section: etree._Element, kind: str) -> Optional[DavServer]:
        allowed = DAV_TYPES[kind]
        davType = (section.get("type") or next(iter(allowed))).strip().lower()
        if davType not in allowed:
            self.warn(section, f"type {davType!r} is not supported in <{kind}>; not imported")
            return None
        before = len(self.errors)
        url = self.single(section, "url")
        username = self.single(section, "username")
        for child in _elements(section):
            if child.tag not in ("url", "username", "authentication"):
                self.skip(child)
        if url is None:
            self.error(section, "no <url>")
        authentication = self.authentications(section, required=False)
        urlText = None if url is None else self.templateText(url)
        if len(self.errors) > before or urlText is None:
            return None
        return DavServer(
            type=davType,
            url=urlText,
            authentication=authentication,
            username=None if username is None else self.templateText(username),
        )

    # Provider texts ------------------------------------------------------------

    def displayName(self, element: etree._Element, limit: int) -> Optional[str]:
        value = self.string(element)
        if value is None or len(value) <= limit:
            return value
        shortened = _truncate(value, limit)
        self.warn(
            element,
            f"{len(value)} characters is over the limit of {limit} that clients rely on; "
            f"shortened to {shortened!r}",
        )
        self.notes.append(f"<{element.tag}> before shortening: {value}")
        return shortened

    def descriptions(self, parent: etree._Element, tag: str) -> tuple[Description, ...]:
        result = []
        for element in parent.findall(tag):
            text = self.string(element)
            if text is not None:
                result.append(Description(text, (element.get("lang") or "").strip() or None))
        return tuple(result)

    def pages(self, parent: etree._Element, tag: str) -> tuple[Documentation, ...]:
        result = []
        for element in parent.findall(tag):
            for child in _elements(element):
                if child.tag != "descr":
                    self.skip(child)
            url = self.templateAttribute(element, "url")
            if url is None:
                self.warn(element, "no url attribute; not imported")
                continue
            result.append(Documentation(url, self.descriptions(element, "descr")))
        return tuple(result)

    def enable(self, element: etree._Element, placement: str) -> Enable:
        for child in _elements(element):
            if child.tag != "instruction":
                self.skip(child)
        return Enable(
            visitURL=self.templateAttribute(element, "visiturl"),
            instructions=self.descriptions(element, "instruction"),
            placement=placement,
        )

    # Root-level sections -------------------------------------------------------

    def webMail(self, element: etree._Element) -> WebMail:
        loginPage = self.single(element, "loginPage")
        infoElement = self.single(element, "loginPageInfo")
        for child in _elements(element):
            if child.tag not in ("loginPage", "loginPageInfo"):
                self.skip(child)
        info = None
        if infoElement is not None:
            info = self.loginPageInfo(infoElement)
        return WebMail(
            loginPage=None if loginPage is None else self.templateAttribute(loginPage, "url"),
            loginPageInfo=info,
        )

    def loginPageInfo(self, element: etree._Element) -> Optional[LoginPageInfo]:
        url = self.templateAttribute(element, "url")
        if url is None:
            self.warn(element, "no url attribute; not imported")
            return None
        fields: dict[str, Optional[str]] = {
            "url": url,
            "waitForRedirectionURLPrefix": self.templateAttribute(
                element, "waitForRedirectionURLPrefix"
            ),
        }
        pairs = {
            "usernameField": ("usernameFieldId", "usernameFieldName"),
            "passwordField": ("passwordFieldId", "passwordFieldName"),
            "loginButton": ("loginButtonId", "loginButtonName"),
        }
        for child in _elements(element):
            if child.tag == "username" and "username" not in fields:
                fields["username"] = self.templateText(child)
            elif child.tag in pairs and pairs[child.tag][0] not in fields:
                idField, nameField = pairs[child.tag]
                fields[idField] = (child.get("id") or "").strip() or None
                fields[nameField] = (child.get("name") or "").strip() or None
            elif child.tag == "username" or child.tag in pairs:
                self.warn(child, f"repeated <{child.tag}>; only the first one is imported")
            else:
                self.skip(child)
        return LoginPageInfo(**fields)

    def oauth2(self, element: etree._Element) -> Optional[OAuth2]:
        tags = {
            "issuer": "issuer",
            "scope": "scope",
            "authURL": "authURL",
            "tokenURL": "tokenURL",
            "clientID": "clientID",
            "clientSecret": "clientSecret",
        }
        fields: dict[str, Optional[str]] = {}
        for child in _elements(element):
            if child.tag not in tags:
                self.skip(child)
            elif tags[child.tag] in fields:
                self.warn(child, f"repeated <{child.tag}>; only the first one is imported")
            else:
                fields[tags[child.tag]] = self.string(child)
        missing = [tag for tag in ("issuer", "scope", "authURL", "tokenURL") if not fields.get(tag)]
        if missing:
            names = ", ".join(f"<{tag}>" for tag in missing)
            self.warn(element, f"no {names}; the OAuth 2 settings are not imported")
            return None
        return OAuth2(**fields)

    # Whole document ------------------------------------------------------------

    def domains(self, emailProvider: etree._Element) -> tuple[str, ...]:
        result: list[str] = []
        before = len(self.errors)
        for element in emailProvider.findall("domain"):
            purpose = element.get("purpose")
            if purpose is not None:
                self.warn(
                    element,
                    f"a domain with purpose={purpose!r} is not imported; the registry "
                    "lists only the email domains themselves",
                )
                continue
            try:
                name = normalizeDomain(_text(element))
            except InvalidName as e:
                self.error(element, f"invalid domain: {e}")
                continue
            if name in result:
                self.warn(element, f"domain {name} is listed more than once; written once")
                continue
            result.append(name)
        if not result and len(self.errors) == before:
            self.error(emailProvider, "no <domain>; a provider needs at least one domain")
        return tuple(result)

    def emailProviderID(self, emailProvider: etree._Element, domains: tuple[str, ...]) -> str:
        raw = (emailProvider.get("id") or "").strip()
        candidate = providerID(raw) if raw else ""
        if candidate:
            if candidate != raw.lower():
                self.warn(emailProvider, f"provider id {raw!r} written as {candidate!r}")
            return candidate
        fallback = domains[0] if domains else "provider"
        self.warn(emailProvider, f"no usable id; the provider is named {fallback!r}")
        return fallback

    def provider(self, emailProvider: etree._Element) -> Provider:
        known = {
            "domain",
            "displayName",
            "displayShortName",
            "incomingServer",
            "outgoingServer",
            "documentation",
            "instruction",
            "enable",
        }
        for child in _elements(emailProvider):
            if child.tag not in known:
                self.skip(child)
        displayName = self.single(emailProvider, "displayName")
        displayShortName = self.single(emailProvider, "displayShortName")
        return Provider(
            id="",
            source=self.path,
            displayName=None
            if displayName is None
            else self.displayName(displayName, MAX_DISPLAY_NAME),
            displayShortName=None
            if displayShortName is None
            else self.displayName(displayShortName, MAX_DISPLAY_SHORT_NAME),
            incoming=self.servers(emailProvider, "incomingServer", INCOMING_TYPES),
            outgoing=self.servers(emailProvider, "outgoingServer", OUTGOING_TYPES),
            documentation=self.pages(emailProvider, "documentation"),
            instructions=self.pages(emailProvider, "instruction"),
        )

    def firstEnable(self, root: etree._Element, emailProvider: etree._Element) -> Optional[Enable]:
        """
        Read the first C{enable}, whether it is inside C{emailProvider} or
        directly under C{clientConfig}; the registry has room for one.
        """
        enables = [(e, "provider") for e in emailProvider.findall("enable")]
        enables += [(e, "config") for e in root.findall("enable")]
        for extra, _ in enables[1:]:
            self.warn(extra, "repeated <enable>; only the first one is imported")
        return self.enable(*enables[0]) if enables else None

    def rootSections(
        self, root: etree._Element, emailProvider: etree._Element, provider: Provider
    ) -> Provider:
        """
        Add the sections that sit directly under C{clientConfig} to C{provider}.
        """
        fields: dict[str, object] = {"enable": self.firstEnable(root, emailProvider)}
        calendars: list[Optional[DavServer]] = []
        addressbooks: list[Optional[DavServer]] = []
        seen: set[str] = set()

        for child in _elements(root):
            tag = child.tag
            if tag in ("emailProvider", "enable"):
                continue
            if tag == "calendar":
                calendars.append(self.dav(child, "calendar"))
            elif tag in ("addressbook", "addressBook"):
                addressbooks.append(self.dav(child, "addressbook"))
            elif tag in ("webMail", "oAuth2", "clientConfigUpdate") and tag in seen:
                self.warn(child, f"repeated <{tag}>; only the first one is imported")
            elif tag == "webMail":
                fields["webMail"] = self.webMail(child)
            elif tag == "oAuth2":
                fields["oauth2"] = self.oauth2(child)
            elif tag == "clientConfigUpdate":
                fields["clientConfigUpdate"] = self.templateAttribute(child, "url")
            else:
                self.skip(child)
            seen.add(tag)

        fields["calendars"] = tuple(s for s in calendars if s is not None)
        fields["addressbooks"] = tuple(s for s in addressbooks if s is not None)
        return attrs.evolve(provider, **fields)

    def document(self, root: etree._Element) -> Optional[ImportedFile]:
        if root.tag != "clientConfig":
            self.error(
                root,
                f"the root element is <{root.tag}>, not <clientConfig>; "
                "this is not an Autoconfig file",
            )
            return None
        emailProviders = root.findall("emailProvider")
        if len(emailProviders) != 1:
            self.error(
                root,
                f"{len(emailProviders)} <emailProvider> elements; an Autoconfig file has one",
            )
            return None
        emailProvider = emailProviders[0]
        domains = self.domains(emailProvider)
        provider = self.rootSections(root, emailProvider, self.provider(emailProvider))
        provider = attrs.evolve(provider, id=self.emailProviderID(emailProvider, domains))
        return ImportedFile(
            path=self.path,
            provider=provider,
            domains=domains,
            comments=_comments(root) + tuple(self.notes),
            warnings=tuple(self.warnings),
        )


def _comments(root: etree._Element) -> tuple[str, ...]:
    before = reversed(list(root.itersiblings(etree.Comment, preceding=True)))
    inside = root.iter(etree.Comment)
    after = root.itersiblings(etree.Comment)
    result = []
    for comment in (*before, *inside, *after):
        text = (comment.text or "").strip()
        if text:
            result.append(text)
    return tuple(result)


def readAutoconfig(path: str, data: bytes) -> ImportedFile:
    """
    Convert the content of one Autoconfig file.

    @param path: The file name, for messages.
    @param data: The file's bytes.
    @return: The provider, its domains and the warnings.
    @raise ImportFailed: With every problem of the file, if it cannot be
        converted.
    """
    try:
        root = parseUntrusted(data, MAX_FILE_SIZE, keepComments=True)
    except UntrustedXMLError as e:
        raise ImportFailed([Diagnostic(path, e.line, "", str(e))]) from None
    reader = _Reader(path, root)
    imported = reader.document(root)
    if reader.errors or imported is None:
        raise ImportFailed(reader.errors)
    return imported
