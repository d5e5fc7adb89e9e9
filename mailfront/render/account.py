"""
The settings of one mail account: a provider's servers as they apply to one
email address.

The Apple profile and the setup page both show a person's own settings, so
both fill the registry's placeholders (C{%EMAILADDRESS%} and the others) with
the address and pick servers the same way.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional, Sequence
from urllib.parse import quote

import attrs

from ..registry.model import Server

__all__ = [
    "MAIL_TYPES",
    "Account",
    "fillPlaceholders",
    "fillURL",
    "mailServers",
    "preferredServer",
]

#: Server types a person can type into any mail client by host name and
#: port; the URL-based types (Exchange, JMAP, ActiveSync) are left out.
MAIL_TYPES = frozenset({"imap", "pop3", "smtp"})

#: Socket types from the most to the least preferred for a client that has
#: a single "use TLS" switch: implicit TLS is unambiguous (RFC 8314).
_SOCKET_PREFERENCE = ("SSL", "STARTTLS", "plain")

_PLACEHOLDER = re.compile(r"%(EMAILADDRESS|EMAILLOCALPART|EMAILDOMAIN)%")

#: Characters left unencoded when an address goes into a URL path: the
#: sub-delimiters and C{@} of RFC 3986, which are valid in a path segment.
_PATH_SAFE = "@!$&'()*+,;=:"


@attrs.frozen
class Account:
    """
    An email address split for placeholder substitution.

    @ivar localPart: The local part exactly as the person typed it.
    @ivar domain: The normalized A-label domain.
    """

    localPart: str
    domain: str

    @property
    def address(self) -> str:
        """
        The address with its domain in A-label form, as servers expect it.
        """
        return f"{self.localPart}@{self.domain}"


def fillPlaceholders(template: str, account: Account) -> str:
    """
    Replace C{%EMAILADDRESS%}, C{%EMAILLOCALPART%} and C{%EMAILDOMAIN%}.

    @param template: A username or host name template from the registry.
    @return: The template with the address's parts filled in.
    """
    values = {
        "EMAILADDRESS": account.address,
        "EMAILLOCALPART": account.localPart,
        "EMAILDOMAIN": account.domain,
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def fillURL(template: str, account: Account) -> str:
    """
    Replace the placeholders of a URL template, percent-encoding each value.

    A local part may contain C{/}, C{?}, C{#} or spaces, which would change
    the meaning of the URL if inserted as they are.
    """
    values = {
        "EMAILADDRESS": quote(account.address, safe=_PATH_SAFE),
        "EMAILLOCALPART": quote(account.localPart, safe=_PATH_SAFE),
        "EMAILDOMAIN": account.domain,
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def mailServers(servers: Iterable[Server]) -> tuple[Server, ...]:
    """
    Keep the servers reached by host name and port, in the registry's order.
    """
    return tuple(
        server
        for server in servers
        if server.type in MAIL_TYPES
        and server.hostname is not None
        and server.port is not None
        and server.socketType is not None
    )


def preferredServer(servers: Sequence[Server], types: Iterable[str]) -> Optional[Server]:
    """
    Choose the server a client with one "use TLS" switch should use.

    The registry lists servers most preferred first, so the first server of
    one of C{types} decides the protocol (IMAP or POP3 for incoming mail).
    Among the servers of that protocol, implicit TLS wins over STARTTLS, and
    STARTTLS over no encryption; the registry's order breaks ties.

    @param servers: A provider's incoming or outgoing servers.
    @param types: The acceptable server types, such as C{("imap", "pop3")}.
    @return: The chosen server, or C{None} if none has an acceptable type.
    """
    candidates = [server for server in mailServers(servers) if server.type in set(types)]
    if not candidates:
        return None
    protocol = candidates[0].type
    sameProtocol = [server for server in candidates if server.type == protocol]
    return min(
        sameProtocol,
        key=lambda server: _SOCKET_PREFERENCE.index(server.socketType or "plain"),
    )
