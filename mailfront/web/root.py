"""
The root resource: one table of routes for every protocol, and the Site.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Site

from .pages import plainText

__all__ = ["RootResource", "MailfrontSite", "normalizePath"]

#: Access log events, in their own namespace so operators can route them.
accessLog = Logger(namespace="mailfront.access")

_SLASHES = re.compile(rb"/{2,}")


def normalizePath(path: bytes) -> bytes:
    """
    Reduce a request path to the form routes are registered in.

    Clients capitalize paths in several ways (C{/AutoDiscover/AutoDiscover.xml})
    and some add a trailing slash or a doubled one, so the path is lower-cased,
    runs of slashes are collapsed, and a trailing slash is removed.
    """
    path = _SLASHES.sub(b"/", path.lower())
    if len(path) > 1 and path.endswith(b"/"):
        path = path[:-1]
    return path


class RootResource(Resource):
    """
    Dispatches every request by its normalized path.

    @ivar routes: Resources by exact normalized path.
    @ivar prefixes: C{(prefix, resource)} pairs tried in order when no exact
        route matches; C{prefix} ends with C{/}.
    """

    isLeaf = True

    def __init__(
        self,
        routes: Mapping[bytes, IResource],
        prefixes: Sequence[tuple[bytes, IResource]] = (),
    ) -> None:
        super().__init__()
        self.routes = dict(routes)
        self.prefixes = tuple(prefixes)

    def route(self, request: IRequest) -> Optional[IResource]:
        """
        Find the resource for a request, or C{None}.
        """
        path = normalizePath(request.path)
        resource = self.routes.get(path)
        if resource is not None:
            return resource
        for prefix, candidate in self.prefixes:
            if (path + b"/").startswith(prefix):
                return candidate
        return None

    def render(self, request: IRequest) -> bytes:
        resource = self.route(request)
        if resource is None:
            return plainText(request, 404, "not found")
        result: bytes = resource.render(request)
        return result


class MailfrontSite(Site):
    """
    A Site whose access log carries no query strings or credentials.

    Twisted's default access log writes the full request line, and the query
    of an Autoconfig request contains the user's email address. This Site
    logs the path, the domain the resource found, the status and the
    duration instead, as one structured event per request.
    """

    def __init__(self, resource: IResource, reactor: IReactorTime) -> None:
        super().__init__(resource, reactor=reactor)
        self._clock = reactor

    def getResourceFor(self, request: IRequest) -> IResource:
        request.startedAt = self._clock.seconds()  # type: ignore[attr-defined]
        resource: IResource = super().getResourceFor(request)
        return resource

    def log(self, request: IRequest) -> None:  # type: ignore[override]
        started = getattr(request, "startedAt", None)
        duration = None if started is None else self._clock.seconds() - started
        client = request.getClientAddress()
        method = _text(request.method)
        path = _text(request.path)
        status = request.code
        protocol = getattr(request, "protocolName", None)
        domain = getattr(request, "mailDomain", None)
        host = getattr(client, "host", None)
        # The text observer formats an event's format string field by field
        # through string.Formatter, which cost a tenth of the time per
        # request with seven fields. The line is built here once, and the
        # fields stay on the event for observers that read them.
        accessLog.info(
            "{line}",
            line=f"{method} {path} {status} protocol={protocol} domain={domain} "
            f"client={host} duration={duration}",
            method=method,
            path=path,
            status=status,
            protocol=protocol,
            domain=domain,
            client=host,
            duration=duration,
        )


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")
