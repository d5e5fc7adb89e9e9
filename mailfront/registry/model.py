"""
Immutable records of the registry: providers, their servers, and domains.

These classes hold validated data only. L{mailfront.registry.parse} builds
them from configuration files and checks every value, so code that receives a
record can trust it.
"""

from __future__ import annotations

from typing import Mapping, Optional

import attrs

__all__ = [
    "INCOMING_TYPES",
    "OUTGOING_TYPES",
    "DAV_TYPES",
    "SOCKET_TYPES",
    "AUTHENTICATION_METHODS",
    "PLACEHOLDERS",
    "Authentication",
    "Pop3Options",
    "Server",
    "DavServer",
    "Description",
    "Documentation",
    "LoginPageInfo",
    "WebMail",
    "OAuth2",
    "Enable",
    "Provider",
    "DomainEntry",
    "Registry",
]

#: Incoming server types of the Autoconfig format (draft-ietf-mailmaint-
#: autoconfig-06 plus the types Thunderbird also reads).
INCOMING_TYPES = frozenset(
    {"imap", "pop3", "jmap", "ews", "activesync", "graph", "exchange", "owa", "nntp"}
)

#: Outgoing server types of the Autoconfig format.
OUTGOING_TYPES = frozenset({"smtp"})

#: Types of the C{calendar} and C{addressbook} sections.
DAV_TYPES = {"calendar": frozenset({"caldav"}), "addressbook": frozenset({"carddav"})}

#: Socket types: implicit TLS, mandatory STARTTLS upgrade, or no encryption.
SOCKET_TYPES = ("SSL", "STARTTLS", "plain")

#: Authentication values of the Autoconfig format, with their case as clients
#: compare them. Values with C{system="sasl"} or C{system="http"} are free
#: mechanism names and are not listed here.
AUTHENTICATION_METHODS = frozenset(
    {
        "password-cleartext",
        "plain",
        "password-encrypted",
        "secure",
        "NTLM",
        "GSSAPI",
        "OAuth2",
        "TLS-client-cert",
        "client-IP-address",
        "smtp-after-pop",
        "none",
    }
)

#: Placeholders a username or host name template may contain; clients
#: substitute them.
PLACEHOLDERS = frozenset({"EMAILADDRESS", "EMAILLOCALPART", "EMAILDOMAIN"})

#: Types that are reached by URL rather than by host name and port.
URL_TYPES = frozenset({"ews", "graph", "owa", "activesync", "jmap"})


@attrs.frozen
class Authentication:
    """
    One entry of a server's ordered authentication list.

    @ivar method: The value, such as C{password-cleartext} or, with a
        C{system}, a SASL mechanism or HTTP scheme name.
    @ivar system: C{None}, C{"sasl"} or C{"http"}.
    """

    method: str
    system: Optional[str] = None


@attrs.frozen
class Pop3Options:
    """
    POP3 client settings of the Autoconfig C{pop3} element.
    """

    leaveMessagesOnServer: Optional[bool] = None
    daysToLeaveMessagesOnServer: Optional[int] = None
    downloadOnBiff: Optional[bool] = None
    checkIntervalMinutes: Optional[int] = None


@attrs.frozen
class Server:
    """
    One incoming or outgoing mail server.

    @ivar type: Lower-case server type, such as C{imap}, C{pop3} or C{smtp}.
    @ivar hostname: A-label host name, possibly with placeholders; C{None}
        for types reached only by URL.
    @ivar port: TCP port, 1 to 65535.
    @ivar socketType: One of L{SOCKET_TYPES}.
    @ivar authentication: Methods in order of preference, most preferred first.
    @ivar username: Login name template, for example C{%EMAILADDRESS%}.
    @ivar url: Endpoint URL for URL-based types (EWS, Graph, JMAP, ActiveSync).
    """

    type: str
    hostname: Optional[str] = None
    port: Optional[int] = None
    socketType: Optional[str] = None
    authentication: tuple[Authentication, ...] = ()
    username: Optional[str] = None
    url: Optional[str] = None
    pop3: Optional[Pop3Options] = None
    useGlobalPreferredServer: Optional[bool] = None
    addThisServer: Optional[bool] = None
    restriction: Optional[str] = None
    owaURL: Optional[str] = None
    ewsURL: Optional[str] = None
    easURL: Optional[str] = None


@attrs.frozen
class DavServer:
    """
    A CalDAV or CardDAV service.

    @ivar type: C{caldav} or C{carddav}.
    @ivar url: The service URL (https).
    """

    type: str
    url: str
    authentication: tuple[Authentication, ...] = ()
    username: Optional[str] = None


@attrs.frozen
class Description:
    """
    A text in one language.

    @ivar lang: Language tag, or C{None} when the source gave none.
    """

    text: str
    lang: Optional[str] = None


@attrs.frozen
class Documentation:
    """
    A help page for mail client setup, with optional descriptions.
    """

    url: str
    descriptions: tuple[Description, ...] = ()


@attrs.frozen
class LoginPageInfo:
    """
    Hints for clients that log in to web mail automatically.

    Each field pair is the HTML C{id} and C{name} of a form element.
    """

    url: str
    username: Optional[str] = None
    usernameFieldId: Optional[str] = None
    usernameFieldName: Optional[str] = None
    passwordFieldId: Optional[str] = None
    passwordFieldName: Optional[str] = None
    loginButtonId: Optional[str] = None
    loginButtonName: Optional[str] = None
    waitForRedirectionURLPrefix: Optional[str] = None


@attrs.frozen
class WebMail:
    """
    Web mail login page of a provider.
    """

    loginPage: Optional[str] = None
    loginPageInfo: Optional[LoginPageInfo] = None


@attrs.frozen
class OAuth2:
    """
    OAuth 2 parameters of a provider, as the Autoconfig draft defines them.
    """

    issuer: str
    scope: str
    authURL: str
    tokenURL: str
    clientID: Optional[str] = None
    clientSecret: Optional[str] = None


@attrs.frozen
class Enable:
    """
    A page where users must first enable IMAP or POP3 access.

    @ivar placement: C{"provider"} when the source file had it inside
        C{emailProvider}, C{"config"} when directly inside C{clientConfig}.
    """

    visitURL: Optional[str] = None
    instructions: tuple[Description, ...] = ()
    placement: str = "provider"


@attrs.frozen
class Provider:
    """
    A named set of servers and the settings clients need to use them.

    A domain entry refers to a provider; a domain with overrides refers to its
    own evolved copy of one.

    @ivar id: The provider's name in the configuration.
    @ivar source: Path of the file that defined the provider, for messages.
    @ivar activeSyncURL: The https URL of the ActiveSync server, which may
        contain C{%EMAILDOMAIN%}.
    @ivar autodiscoverURL: The https URL of the Autodiscover XML endpoint
        that serves this provider's domains, which may contain
        C{%EMAILDOMAIN%}; C{None} means C{autodiscover.<domain>}.
    """

    id: str
    source: str = ""
    displayName: Optional[str] = None
    displayShortName: Optional[str] = None
    incoming: tuple[Server, ...] = ()
    outgoing: tuple[Server, ...] = ()
    calendars: tuple[DavServer, ...] = ()
    addressbooks: tuple[DavServer, ...] = ()
    documentation: tuple[Documentation, ...] = ()
    instructions: tuple[Documentation, ...] = ()
    webMail: Optional[WebMail] = None
    oauth2: Optional[OAuth2] = None
    enable: Optional[Enable] = None
    clientConfigUpdate: Optional[str] = None
    activeSyncURL: Optional[str] = None
    autodiscoverURL: Optional[str] = None


@attrs.frozen
class DomainEntry:
    """
    A domain served by mailfront and the settings it gets.

    @ivar name: Lower-case A-label form of the domain.
    @ivar provider: The effective provider: the shared one, or an evolved copy
        carrying this domain's overrides.
    @ivar source: Path of the file that claimed the domain, for messages.
    @ivar redirectAddress: Autodiscover C{redirectAddr} target, if accounts of
        this domain live under another address. It may contain
        C{%EMAILLOCALPART%}; its domain is never this domain.
    @ivar redirectURL: Autodiscover C{redirectUrl} target, if another server
        serves Autodiscover for this domain.
    """

    name: str
    provider: Provider
    source: str = ""
    redirectAddress: Optional[str] = None
    redirectURL: Optional[str] = None


@attrs.frozen
class Registry:
    """
    Every provider and domain of one configuration.

    @ivar providers: Providers by id.
    @ivar domains: Domain entries by normalized name.
    """

    providers: Mapping[str, Provider]
    domains: Mapping[str, DomainEntry]

    def lookup(self, name: str) -> Optional[DomainEntry]:
        """
        Find the entry of a normalized domain name.

        @param name: A name as returned by
            L{mailfront.registry.names.normalizeDomain}.
        @return: The entry, or C{None} if the domain is not served.
        """
        return self.domains.get(name)
