"""
Obtaining one certificate over ACME (RFC 8555) with the C{acme} library.

Everything here blocks on the network, so L{AcmeIssuer.issue} runs it in
the reactor's thread pool. The HTTP-01 key authorizations are published to
a L{ChallengeResponses} in the reactor thread, where the plain-HTTP
listener serves them.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from typing import Optional, Sequence
from urllib.parse import urlsplit

import attrs
import josepy as jose
import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads, IReactorThreads, IReactorTime
from twisted.internet.threads import blockingCallFromThread, deferToThreadPool

from .files import makePrivateDirectory, writeFile
from .pem import CertificateError, KeyPair, ServerCertificate, loadServerCertificate
from .store import acmeCertificatePair

__all__ = [
    "AcmeSettings",
    "AcmeFailure",
    "AcmeIssuer",
    "AcmeStorage",
    "ChallengeResponses",
    "LETS_ENCRYPT",
    "LETS_ENCRYPT_STAGING",
]

#: Let's Encrypt's production and staging directory URLs.
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"

#: Seconds one order may take from the challenge responses to the
#: download of the certificate.
ORDER_TIMEOUT = 120

#: Size of the RSA account key.
ACCOUNT_KEY_BITS = 2048


@attrs.frozen
class AcmeSettings:
    """
    Settings for obtaining certificates over ACME.

    @ivar directoryURL: The ACME server's directory URL.
    @ivar storageDirectory: Where the account key and the certificates are
        kept.
    @ivar email: Contact address given to the ACME server for expiry
        notices, or C{None}.
    @ivar caBundle: A PEM file of CA certificates to trust for the ACME
        server's own HTTPS instead of the system's, for a test server;
        C{None} uses the system's trust store.
    @ivar orderInterval: Minimum seconds between the starts of two orders,
        to stay under the ACME server's rate limits when thousands of
        domains need certificates at once.
    """

    directoryURL: str
    storageDirectory: str
    email: Optional[str] = None
    caBundle: Optional[str] = None
    orderInterval: float = 36.0


class ChallengeResponses:
    """
    The HTTP-01 key authorizations being served, by token.

    Use it from the reactor thread only.
    """

    def __init__(self) -> None:
        self._responses: dict[str, str] = {}

    def add(self, token: str, keyAuthorization: str) -> None:
        """
        Serve C{keyAuthorization} at C{/.well-known/acme-challenge/TOKEN}.
        """
        self._responses[token] = keyAuthorization

    def remove(self, token: str) -> None:
        """
        Stop serving a token; an unknown token is ignored.
        """
        self._responses.pop(token, None)

    def get(self, token: str) -> Optional[str]:
        """
        Return the key authorization of a token, or C{None}.
        """
        return self._responses.get(token)


class AcmeFailure(Exception):
    """
    An order that failed, with the ACME server's reason.

    @ivar reason: One line for the log, with the ACME error type and detail.
    @ivar rateLimited: Whether the server reported a rate limit.
    """

    def __init__(self, reason: str, rateLimited: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rateLimited = rateLimited


def describeError(error: Exception) -> AcmeFailure:
    """
    Convert an exception raised while talking to the ACME server to an
    L{AcmeFailure} that names the ACME error.
    """
    if isinstance(error, errors.ValidationError):
        parts = []
        for authorization in error.failed_authzrs:
            for challenge in authorization.body.challenges:
                if challenge.error is not None:
                    parts.append(f"{authorization.body.identifier.value}: {challenge.error}")
        return AcmeFailure("validation failed: " + "; ".join(parts))
    if isinstance(error, messages.Error):
        return AcmeFailure(str(error), rateLimited=error.code == "rateLimited")
    if isinstance(error, errors.TimeoutError):
        return AcmeFailure(f"the order did not complete within {ORDER_TIMEOUT} seconds")
    if isinstance(error, requests.RequestException):
        return AcmeFailure(f"cannot reach the ACME server: {error}")
    return AcmeFailure(f"{type(error).__name__}: {error}")


#: Exceptions of the ACME conversation that fail one order and are retried.
EXPECTED_ERRORS = (
    errors.Error,
    jose.errors.Error,
    requests.RequestException,
    CertificateError,
    OSError,
    ValueError,
)


class AcmeStorage:
    """
    The ACME files on disk, readable by their owner only.

    The layout is C{accounts/HOST-HASH/private_key.pem} with one account per
    ACME directory URL, and C{certificates/DOMAIN/fullchain.pem} with
    C{privkey.pem}, the layout the certificate loader reads.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def _accountDirectory(self, directoryURL: str) -> str:
        host = urlsplit(directoryURL).hostname or "server"
        digest = hashlib.sha256(directoryURL.encode("utf-8")).hexdigest()[:12]
        return os.path.join(self.directory, "accounts", f"{host}-{digest}")

    def accountKey(self, directoryURL: str) -> jose.JWKRSA:
        """
        Load the account key for an ACME server, creating it on first use.
        """
        folder = self._accountDirectory(directoryURL)
        path = os.path.join(folder, "private_key.pem")
        try:
            with open(path, "rb") as f:
                key = serialization.load_pem_private_key(f.read(), password=None)
        except FileNotFoundError:
            for parent in (self.directory, os.path.dirname(folder), folder):
                makePrivateDirectory(parent)
            key = rsa.generate_private_key(public_exponent=65537, key_size=ACCOUNT_KEY_BITS)
            writeFile(path, _keyPEM(key), 0o600)
        return jose.JWKRSA(key=key)

    def saveAccount(self, directoryURL: str, accountURL: str) -> None:
        """
        Record the account URL next to its key, for operators.
        """
        folder = self._accountDirectory(directoryURL)
        data = json.dumps({"directory": directoryURL, "account": accountURL}, indent=2)
        writeFile(os.path.join(folder, "account.json"), data.encode("utf-8") + b"\n", 0o600)

    def saveCertificate(self, domain: str, fullchainPEM: bytes, keyPEM: bytes) -> KeyPair:
        """
        Store a domain's new certificate, key first, replacing the old one.
        """
        pair = acmeCertificatePair(self.directory, domain)
        for folder in (
            self.directory,
            os.path.dirname(os.path.dirname(pair.certificatePath)),
            os.path.dirname(pair.certificatePath),
        ):
            makePrivateDirectory(folder)
        writeFile(pair.keyPath, keyPEM, 0o600)
        writeFile(pair.certificatePath, fullchainPEM, 0o644)
        return pair


def _keyPEM(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class AcmeIssuer:
    """
    Obtains certificates from one ACME server, one order at a time.

    @param challenges: Where the HTTP-01 key authorizations are published.
    @param reactor: Runs the blocking work in its thread pool and supplies
        the current time.
    """

    def __init__(
        self,
        settings: AcmeSettings,
        challenges: ChallengeResponses,
        reactor: IReactorThreads,
    ) -> None:
        self._settings = settings
        self._challenges = challenges
        self._reactor = reactor
        self._storage = AcmeStorage(settings.storageDirectory)
        self._client: Optional[client.ClientV2] = None

    def issue(self, domain: str, names: Sequence[str]) -> Deferred[ServerCertificate]:
        """
        Obtain, store and load a certificate for C{names} in one order.

        @return: A Deferred that fires with the certificate, or fails with
            L{AcmeFailure}.
        """
        return deferToThreadPool(
            self._reactor,  # type: ignore[arg-type]
            self._reactor.getThreadPool(),
            self._issueInThread,
            domain,
            tuple(names),
        )

    def _now(self) -> float:
        clock: IReactorTime = self._reactor  # type: ignore[assignment]
        return clock.seconds()

    def _issueInThread(self, domain: str, names: tuple[str, ...]) -> ServerCertificate:
        try:
            acme = self._accountClient()
            key = ec.generate_private_key(ec.SECP256R1())
            keyPEM = _keyPEM(key)
            order = acme.new_order(crypto_util.make_csr(keyPEM, list(names)))
            order = self._answerAndFinalize(acme, order)
            pair = self._storage.saveCertificate(domain, order.fullchain_pem.encode("ascii"), keyPEM)
            now = datetime.datetime.fromtimestamp(self._now(), datetime.timezone.utc)
            return loadServerCertificate(pair, now)
        except EXPECTED_ERRORS as e:
            # A fresh account session next time, in case this one is stale.
            self._client = None
            raise describeError(e) from e

    def _answerAndFinalize(
        self, acme: client.ClientV2, order: messages.OrderResource
    ) -> messages.OrderResource:
        published: list[str] = []
        try:
            for authorization in order.authorizations:
                if authorization.body.status == messages.STATUS_VALID:
                    continue
                challenge = _http01(authorization)
                response, validation = challenge.response_and_validation(acme.net.key)
                token = challenge.chall.encode("token")
                self._publish(token, validation)
                published.append(token)
                acme.answer_challenge(challenge, response)
            # The acme library compares deadlines with naive local time.
            deadline = datetime.datetime.fromtimestamp(self._now() + ORDER_TIMEOUT)
            return acme.poll_and_finalize(order, deadline)
        finally:
            for token in published:
                self._unpublish(token)

    def _publish(self, token: str, validation: str) -> None:
        blockingCallFromThread(self._reactor, self._challenges.add, token, validation)  # type: ignore[arg-type]

    def _unpublish(self, token: str) -> None:
        reactor: IReactorFromThreads = self._reactor  # type: ignore[assignment]
        reactor.callFromThread(self._challenges.remove, token)

    def _accountClient(self) -> client.ClientV2:
        if self._client is not None:
            return self._client
        settings = self._settings
        key = self._storage.accountKey(settings.directoryURL)
        network = client.ClientNetwork(
            key,
            user_agent="mailfront",
            verify_ssl=settings.caBundle or True,  # type: ignore[arg-type]
        )
        directory = client.ClientV2.get_directory(settings.directoryURL, network)
        acme = client.ClientV2(directory, network)
        registration = messages.NewRegistration.from_data(
            email=settings.email, terms_of_service_agreed=True
        )
        try:
            account = acme.new_account(registration)
        except errors.ConflictError as existing:
            # The key is registered already: use that account.
            account = messages.RegistrationResource(
                uri=existing.location, body=messages.Registration()
            )
            network.account = account
        self._storage.saveAccount(settings.directoryURL, account.uri)
        self._client = acme
        return acme


def _http01(authorization: messages.AuthorizationResource) -> messages.ChallengeBody:
    for challenge in authorization.body.challenges:
        if isinstance(challenge.chall, challenges.HTTP01):
            return challenge
    raise AcmeFailure(
        f"the ACME server offers no http-01 challenge for {authorization.body.identifier.value}"
    )
