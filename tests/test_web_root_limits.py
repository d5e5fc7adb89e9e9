"""
Tests of the request limits of L{MailfrontSite}: the body size cap, the
deadline for a complete request, and POST bodies never parsed as forms.

The Site runs with its real HTTP channel over a L{StringTransport}, driven
byte by byte, with a L{Clock} for time.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http import HTTPChannel
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from mailfront.web.root import MAX_BODY_SIZE, REQUEST_TIMEOUT, MailfrontSite, RootResource

from .autodiscoverdata import outlookRequest


class _Recorder(Resource):
    """
    Answers every request with C{ok} and keeps the arguments and body of
    each request it saw.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[dict[bytes, list[bytes]], bytes]] = []

    def render(self, request: IRequest) -> bytes:
        self.requests.append((request.args, request.content.read()))
        return b"ok"


class SiteLimitTests(SynchronousTestCase):
    """
    Bodies over the size cap and requests over the deadline get their response
    from the Site and never reach a resource.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.recorder = _Recorder()
        self.site = MailfrontSite(RootResource({b"/x": self.recorder}), self.clock)
        self.transport, self.channel = self.connect()

    def connect(self) -> tuple[StringTransport, HTTPChannel]:
        channel = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        transport = StringTransport()
        channel.makeConnection(transport)
        return transport, channel

    def headers(self, *lines: bytes) -> bytes:
        return (
            b"POST /x HTTP/1.1\r\nHost: example.org\r\n"
            + b"".join(line + b"\r\n" for line in lines)
            + b"\r\n"
        )

    def test_contentLengthOverLimit(self) -> None:
        """
        A Content-Length over the limit gets a 413 response and the
        connection closed as soon as the headers are in, before any body.
        """
        self.channel.dataReceived(self.headers(b"Content-Length: %d" % (MAX_BODY_SIZE + 1,)))
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 413 "))
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.recorder.requests, [])

    def test_bodyAfterRejectionIgnored(self) -> None:
        """
        Body bytes that arrive after the 413 reach no resource, and no
        second response is written.
        """
        self.channel.dataReceived(
            self.headers(b"Content-Length: %d" % (MAX_BODY_SIZE + 1,)) + b"x" * (MAX_BODY_SIZE + 1)
        )
        self.assertEqual(self.transport.value().count(b"HTTP/1.1 "), 1)
        self.assertEqual(self.recorder.requests, [])

    def test_noContinueAfterRejection(self) -> None:
        """
        A client that asked for 100 Continue gets the 413 only.
        """
        self.channel.dataReceived(self.headers(b"Expect: 100-continue", b"Content-Length: 1000000"))
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 413 "))
        self.assertNotIn(b"100 Continue", self.transport.value())

    def test_chunkedOverLimit(self) -> None:
        """
        A chunked body gets a 413 response once it grows past the limit.
        """
        self.channel.dataReceived(self.headers(b"Transfer-Encoding: chunked"))
        chunk = b"%x\r\n%s\r\n" % (1024, b"a" * 1024)
        for _ in range(MAX_BODY_SIZE // 1024):
            self.channel.dataReceived(chunk)
        self.assertEqual(self.transport.value(), b"")
        self.channel.dataReceived(b"1\r\na\r\n")
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 413 "))
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.recorder.requests, [])

    def test_bodyAtLimit(self) -> None:
        """
        A body of exactly the limit reaches the resource whole, in memory.
        """
        body = b"a" * MAX_BODY_SIZE
        self.channel.dataReceived(self.headers(b"Content-Length: %d" % (len(body),)) + body)
        self.assertIn(b"HTTP/1.1 200 ", self.transport.value())
        [(_, received)] = self.recorder.requests
        self.assertEqual(received, body)

    def test_chunkedAtLimit(self) -> None:
        """
        A chunked body of exactly the limit reaches the resource whole.
        """
        self.channel.dataReceived(self.headers(b"Transfer-Encoding: chunked"))
        self.channel.dataReceived(b"%x\r\n%s\r\n0\r\n\r\n" % (MAX_BODY_SIZE, b"a" * MAX_BODY_SIZE))
        [(_, received)] = self.recorder.requests
        self.assertEqual(received, b"a" * MAX_BODY_SIZE)

    def test_slowBodyDropped(self) -> None:
        """
        A body that trickles in, one byte a second, gets a 408 response and
        dropped when the deadline passes, although each byte would keep an
        idle timeout from firing.
        """
        self.channel.dataReceived(self.headers(b"Content-Length: 100"))
        for _ in range(int(REQUEST_TIMEOUT) - 1):
            self.channel.dataReceived(b"a")
            self.clock.advance(1)
        self.assertEqual(self.transport.value(), b"")
        self.channel.dataReceived(b"a")
        self.clock.advance(1)
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 408 "))
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.recorder.requests, [])

    def test_slowHeadersDropped(self) -> None:
        """
        A request whose headers do not end in time is dropped too.
        """
        self.channel.dataReceived(b"POST /x HTTP/1.1\r\nHost: example.org\r\n")
        self.clock.advance(REQUEST_TIMEOUT)
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 408 "))
        self.assertTrue(self.transport.disconnecting)

    def test_completeRequestNotDropped(self) -> None:
        """
        A request completed in time gets its response, and the deadline does not
        fire later on the kept-alive connection.
        """
        self.channel.dataReceived(self.headers(b"Content-Length: 2") + b"ab")
        self.clock.advance(REQUEST_TIMEOUT * 2)
        self.assertIn(b"HTTP/1.1 200 ", self.transport.value())
        self.assertNotIn(b"408", self.transport.value())
        self.assertFalse(self.transport.disconnecting)

    def test_deadlineCancelledOnDisconnect(self) -> None:
        """
        A client that disconnects mid-request leaves no deadline behind.
        """
        self.channel.dataReceived(b"POST /x HTTP/1.1\r\n")
        self.channel.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_formNotParsed(self) -> None:
        """
        A POST with a form content type keeps its body and gets no
        arguments from it.
        """
        body = b"EMailAddress=fred%40example.org"
        self.channel.dataReceived(
            self.headers(
                b"Content-Type: application/x-www-form-urlencoded",
                b"Content-Length: %d" % (len(body),),
            )
            + body
        )
        [(arguments, received)] = self.recorder.requests
        self.assertEqual(arguments, {})
        self.assertEqual(received, body)

    def test_malformedMultipartAnswered(self) -> None:
        """
        A multipart content type with a body that is no multipart document
        reaches the resource instead of failing in Twisted's form parser.
        """
        body = outlookRequest("fred@example.org")
        self.channel.dataReceived(
            self.headers(
                b"Content-Type: multipart/form-data; boundary=x",
                b"Content-Length: %d" % (len(body),),
            )
            + body
        )
        self.assertIn(b"HTTP/1.1 200 ", self.transport.value())
        self.assertEqual(len(self.recorder.requests), 1)
