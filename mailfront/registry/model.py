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
    "MtaStsPolicy",
    "TlsReporting",
    "Provider",
    "DomainEntry",
    "ZONE_LAYOUTS",
    "SoaSettings",
    "NotifyTarget",
    "DnsSettings",
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
class MtaStsPolicy:
    """
    An SMTP MTA Strict Transport Security policy (RFC 8461).

    @ivar mode: C{enforce}, C{testing} or C{none}.
    @ivar mx: Host names or C{*.suffix} patterns of the mail exchangers.
    @ivar maxAge: Seconds senders may cache the policy, at most 31557600.
    @ivar id: The policy id of the C{_mta-sts} TXT record, or C{None} to
        derive it from the policy, so that it changes whenever the policy
        does.
    """

    mode: str
    mx: tuple[str, ...] = ()
    maxAge: int = 604800
    id: Optional[str] = None


@attrs.frozen
class TlsReporting:
    """
    The addresses for reports of TLS failures from sending mail servers
    (RFC 8460).

    @ivar rua: C{mailto:} or C{https:} URIs, in the order given.
    """

    rua: tuple[str, ...]


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
    mtaSts: Optional[MtaStsPolicy] = None
    tlsReporting: Optional[TlsReporting] = None


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


#: Zone layouts, the ways the DNS records of a domain are cut into zones.
#: C{subdomains} serves the names mailfront publishes as small zones
#: (C{_tcp.D}, C{_mta-sts.D}, ...) that the domain's own zone delegates.
#: C{domain} serves the whole domain as one zone.
ZONE_LAYOUTS = ("subdomains", "domain")


@attrs.frozen
class SoaSettings:
    """
    The fields of the SOA record of every zone, except the serial.

    @ivar rname: Mailbox of the person responsible for the zones, in DNS
        form (C{hostmaster.example.net}, no trailing dot).
    @ivar mname: The primary name server, or C{None} for the first entry of
        L{DnsSettings.nameServers}.
    @ivar refresh: Seconds between a secondary's checks for a new serial.
    @ivar retry: Seconds a secondary waits after a failed check.
    @ivar expire: Seconds a secondary keeps serving a zone it cannot
        refresh.
    @ivar minimum: TTL of negative answers (NXDOMAIN and NODATA), RFC 2308.
    """

    rname: str
    mname: Optional[str] = None
    refresh: int = 3600
    retry: int = 600
    expire: int = 1209600
    minimum: int = 300


@attrs.frozen
class NotifyTarget:
    """
    A secondary name server that gets DNS NOTIFY messages.

    @ivar address: IPv4 or IPv6 address, in its compressed text form.
    @ivar port: UDP port.
    """

    address: str
    port: int = 53


@attrs.frozen
class DnsSettings:
    """
    The C{[dns]} table: how mailfront publishes the registry in DNS.

    @ivar ttl: TTL of every record, in seconds.
    @ivar nameServers: Host names of the NS records of every zone.
    @ivar soa: SOA fields; C{None} only for the defaults used when the
        configuration has no C{[dns]} table.
    @ivar zoneLayout: One of L{ZONE_LAYOUTS}.
    @ivar mailfrontHostname: Canonical host name of the machine that runs
        mailfront: C{autoconfig.D} and C{autodiscover.D} become CNAMEs to it.
    @ivar mailfrontAddresses: Addresses of that machine, published as A and
        AAAA records of C{autoconfig.D} and C{autodiscover.D} instead.
    @ivar allowTransfer: Networks (C{ipaddress} text such as
        C{192.0.2.0/24}) that may transfer zones with AXFR.
    @ivar notify: Secondaries that get a DNS NOTIFY for every new serial.
    @ivar source: The file that held the table, for messages.
    """

    ttl: int = 3600
    nameServers: tuple[str, ...] = ()
    soa: Optional[SoaSettings] = None
    zoneLayout: str = "subdomains"
    mailfrontHostname: Optional[str] = None
    mailfrontAddresses: tuple[str, ...] = ()
    allowTransfer: tuple[str, ...] = ()
    notify: tuple[NotifyTarget, ...] = ()
    source: str = ""


@attrs.frozen
class Registry:
    """
    Every provider and domain of one configuration.

    @ivar providers: Providers by id.
    @ivar domains: Domain entries by normalized name.
    @ivar dns: The C{[dns]} table, or C{None} when the configuration has
        none.
    """

    providers: Mapping[str, Provider]
    domains: Mapping[str, DomainEntry]
    dns: Optional[DnsSettings] = None

    def lookup(self, name: str) -> Optional[DomainEntry]:
        """
        Find the entry of a normalized domain name.

        @param name: A name as returned by
            L{mailfront.registry.names.normalizeDomain}.
        @return: The entry, or C{None} if the domain is not served.
        """
        return self.domains.get(name)
