"""
Tests for the ACME HTTP-01 responses on the HTTP listener, through the whole
resource tree.
"""

from __future__ import annotations

from treq.testing import StubTreq
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from mailfront.registry import Registry
from mailfront.service import buildSite
from mailfront.snapshot import SnapshotHolder, buildSnapshot
from mailfront.tls.acmeclient import ChallengeResponses
from mailfront.web.root import RootResource

TOKEN = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
KEY_AUTHORIZATION = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"


class AcmeChallengeResourceTests(SynchronousTestCase):
    """
    Tests for C{/.well-known/acme-challenge/TOKEN}.
    """

    def setUp(self) -> None:
        self.responses = ChallengeResponses()
        holder = SnapshotHolder(buildSnapshot(Registry(providers={}, domains={}), 1))
        site = buildSite(holder, Clock(), challenges=self.responses)
        self.treq = StubTreq(site.resource)

    def get(self, path: str, method: str = "GET") -> tuple[int, bytes, bytes]:
        url = "http://autoconfig.one.example" + path
        response = self.successResultOf(self.treq.request(method, url))
        body = self.successResultOf(response.content())
        contentType = response.headers.getRawHeaders(b"content-type", [b""])[0]
        return response.code, contentType, body

    def test_pendingToken(self) -> None:
        """
        A published token returns its key authorization, as
        application/octet-stream.
        """
        self.responses.add(TOKEN, KEY_AUTHORIZATION)
        code, contentType, body = self.get(f"/.well-known/acme-challenge/{TOKEN}")
        self.assertEqual((code, contentType, body), (200, b"application/octet-stream", KEY_AUTHORIZATION.encode()))
        code, _, body = self.get(f"/.well-known/acme-challenge/{TOKEN}", method="HEAD")
        self.assertEqual((code, body), (200, b""))

    def test_tokenCaseSensitive(self) -> None:
        """
        Tokens are matched as sent, although routing ignores case.
        """
        self.responses.add(TOKEN, KEY_AUTHORIZATION)
        code, _, _ = self.get(f"/.well-known/acme-challenge/{TOKEN.lower()}")
        self.assertEqual(code, 404)
        code, _, body = self.get(f"/.WELL-KNOWN/acme-challenge/{TOKEN}")
        self.assertEqual((code, body), (200, KEY_AUTHORIZATION.encode()))

    def test_unknownAndRemoved(self) -> None:
        """
        Unknown, removed and malformed tokens get a plain 404.
        """
        self.responses.add(TOKEN, KEY_AUTHORIZATION)
        self.responses.remove(TOKEN)
        for path in (
            f"/.well-known/acme-challenge/{TOKEN}",
            "/.well-known/acme-challenge/other",
            "/.well-known/acme-challenge/a%2Fb",
            "/.well-known/acme-challenge/",
        ):
            code, contentType, _ = self.get(path)
            self.assertEqual((code, contentType), (404, b"text/plain; charset=utf-8"), path)

    def test_notSwallowed(self) -> None:
        """
        The challenge prefix is the first prefix route, so a catch-all prefix
        added after it cannot take challenge requests.
        """
        root = buildSite(SnapshotHolder(buildSnapshot(Registry({}, {}), 1)), Clock()).resource
        assert isinstance(root, RootResource)
        self.assertEqual(root.prefixes[0][0], b"/.well-known/acme-challenge/")
        catchAll = Resource()
        root.prefixes = root.prefixes + ((b"/", catchAll),)

        class Request:
            path = b"/.well-known/acme-challenge/abc"

        self.assertIs(root.route(Request()), root.prefixes[0][1])  # type: ignore[arg-type]
