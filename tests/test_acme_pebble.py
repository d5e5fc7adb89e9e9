"""
End-to-end test of ACME: the real C{twistd mailfront} obtains certificates
from Debian's C{pebble} test ACME server on 127.0.0.1, responding to
HTTP-01 challenges on its plain-HTTP listener, and serves them by server name.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import time
import urllib.request

from cryptography import x509
from twisted.trial.unittest import TestCase

from .certificates import TestAuthority, writePEM
from .loopbackdns import LoopbackDNS
from .running import RunningService, freePort, startMailfront

PEBBLE = shutil.which("pebble")

#: Seconds to wait for Pebble to listen, and for both certificates.
PEBBLE_START_TIMEOUT = 20.0
ISSUE_TIMEOUT = 120.0

DOMAINS = ("one.test", "two.test")

CONFIG = """
[providers.test-hosting]
display-name = "Test Hosting"
domains = ["one.test", "two.test"]

[[providers.test-hosting.incoming]]
type = "imap"
hostname = "mail.test-hosting.test"
port = 993
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILADDRESS%"

[[providers.test-hosting.outgoing]]
type = "smtp"
hostname = "mail.test-hosting.test"
port = 465
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILADDRESS%"
"""


def _waitForPort(port: int, process: subprocess.Popen[bytes], logPath: str) -> None:
    deadline = time.monotonic() + PEBBLE_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with open(logPath, encoding="utf-8", errors="replace") as f:
                raise AssertionError(f"pebble exited with {process.returncode}:\n{f.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"pebble did not listen on port {port} within {PEBBLE_START_TIMEOUT} s")


class PebbleACMETests(TestCase):
    """
    mailfront against a real ACME server.
    """

    def setUp(self) -> None:
        if PEBBLE is None:
            self.skipTest("pebble is not installed; apt-get install pebble")
        self.work = os.path.abspath(self.mktemp())
        os.makedirs(self.work)
        self.dns = LoopbackDNS(DOMAINS)
        self.addCleanup(self.dns.stop)
        self.challengePort = freePort()
        self._startPebble()
        self.configDirectory = os.path.join(self.work, "config")
        os.makedirs(self.configDirectory)
        writePEM(os.path.join(self.configDirectory, "hosting.toml"), CONFIG.encode("utf-8"))
        self.acmeDirectory = os.path.join(self.work, "acme")

    def _startPebble(self) -> None:
        # Debian's pebble ships no certificate for its own HTTPS listener,
        # so the test makes one.
        now = datetime.datetime.now(datetime.timezone.utc)
        authority = TestAuthority(now, name="pebble listener")
        listener = authority.issue(["localhost"], addresses=["127.0.0.1"])
        self.listenerCA = writePEM(
            os.path.join(self.work, "listener-ca.pem"), authority.root.certificatePEM()
        )
        certificate = writePEM(os.path.join(self.work, "pebble.pem"), authority.fullchain(listener))
        key = writePEM(os.path.join(self.work, "pebble.key"), listener.keyPEM())
        self.acmePort, self.managementPort = freePort(), freePort()
        configPath = os.path.join(self.work, "pebble.json")
        with open(configPath, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "pebble": {
                        "listenAddress": f"127.0.0.1:{self.acmePort}",
                        "managementListenAddress": f"127.0.0.1:{self.managementPort}",
                        "certificate": certificate,
                        "privateKey": key,
                        "httpPort": self.challengePort,
                        "tlsPort": freePort(),
                        "ocspResponderURL": "",
                        "externalAccountBindingRequired": False,
                    }
                },
                f,
            )
        environment = dict(os.environ)
        # No random validation delay, and no deliberately rejected nonces.
        environment.update(PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        self.pebbleLog = os.path.join(self.work, "pebble.log")
        with open(self.pebbleLog, "wb") as log:
            process = subprocess.Popen(
                [PEBBLE, "-config", configPath, "-dnsserver", f"127.0.0.1:{self.dns.port}"],
                env=environment, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.work,
            )

        def stop() -> None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

        self.addCleanup(stop)
        _waitForPort(self.acmePort, process, self.pebbleLog)
        _waitForPort(self.managementPort, process, self.pebbleLog)

    def _startMailfront(self) -> RunningService:
        return startMailfront(
            self,
            config=self.configDirectory,
            extraArguments=[
                "--http", f"tcp:{self.challengePort}:interface=127.0.0.1",
                "--acme-directory", f"https://127.0.0.1:{self.acmePort}/dir",
                "--acme-ca-bundle", self.listenerCA,
                "--acme-email", "postmaster@one.test",
                "--acme-dir", self.acmeDirectory,
                "--acme-order-interval", "0",
            ],
            waitPorts=[self.challengePort],
        )

    def _waitForCertificates(self, service: RunningService) -> None:
        deadline = time.monotonic() + ISSUE_TIMEOUT
        expected = [f"obtained a certificate for {domain}" for domain in DOMAINS]
        while time.monotonic() < deadline:
            log = service.log()
            if all(line in log for line in expected):
                return
            if service.process.poll() is not None or "ACME: the order for" in log:
                break
            time.sleep(0.2)
        with open(self.pebbleLog, encoding="utf-8", errors="replace") as f:
            pebbleLog = f.read()
        raise AssertionError(
            f"no certificates for {DOMAINS}\nmailfront:\n{service.log()}\n"
            f"pebble:\n{pebbleLog}"
        )

    def _pebbleRoot(self) -> str:
        context = ssl.create_default_context(cafile=self.listenerCA)
        url = f"https://127.0.0.1:{self.managementPort}/roots/0"
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            return writePEM(os.path.join(self.work, "pebble-root.pem"), response.read())

    def _fetch(
        self, service: RunningService, context: ssl.SSLContext, serverName: str | None, host: str
    ) -> tuple[x509.Certificate, bytes]:
        """
        Connect with C{serverName} as SNI, ask for the Autoconfig file of
        C{host}'s domain, and return the served certificate and the response.
        """
        domain = host.split(".", 1)[1]
        request = (
            f"GET /mail/config-v1.1.xml?emailaddress=fred%40{domain} HTTP/1.1\r\n"
            f"Host: {host}\r\nConnection: close\r\n\r\n"
        ).encode("ascii")
        with socket.create_connection(("127.0.0.1", service.httpsPort), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=serverName) as tls:
                der = tls.getpeercert(binary_form=True)
                tls.sendall(request)
                response = b""
                while chunk := tls.recv(65536):
                    response += chunk
        assert der is not None
        return x509.load_der_x509_certificate(der), response

    def test_certificatesByServerName(self) -> None:
        """
        mailfront obtains one certificate per domain from the ACME server and
        serves each domain's certificate for its names. A client that trusts
        only Pebble's root verifies the chain and the host name for two
        domains, and gets each domain's Autoconfig file.
        """
        service = self._startMailfront()
        self._waitForCertificates(service)
        context = ssl.create_default_context(cafile=self._pebbleRoot())

        served = {}
        for host in ("autoconfig.one.test", "autodiscover.one.test", "autoconfig.two.test"):
            certificate, response = self._fetch(service, context, host, host)
            self.assertTrue(response.startswith(b"HTTP/1.1 200 "), response[:200])
            self.assertIn(b"<emailProvider", response)
            served[host] = certificate

        names = {
            host: set(
                certificate.extensions.get_extension_for_class(
                    x509.SubjectAlternativeName
                ).value.get_values_for_type(x509.DNSName)
            )
            for host, certificate in served.items()
        }
        self.assertEqual(names["autoconfig.one.test"], {"autoconfig.one.test", "autodiscover.one.test"})
        self.assertEqual(names["autoconfig.two.test"], {"autoconfig.two.test", "autodiscover.two.test"})
        self.assertEqual(served["autoconfig.one.test"], served["autodiscover.one.test"])
        self.assertIn("autoconfig.one.test", self.dns.queries)

    def test_unknownNameGetsDefault(self) -> None:
        """
        A client that sends an unknown server name, or none, completes the
        handshake with the default certificate and gets a normal HTTP answer.
        """
        service = self._startMailfront()
        self._waitForCertificates(service)
        context = ssl.create_default_context(cafile=service.certificatePath)
        context.check_hostname = False
        with open(service.certificatePath, "rb") as f:
            default = x509.load_pem_x509_certificate(f.read())

        for serverName in ("unknown.example", None):
            certificate, response = self._fetch(service, context, serverName, "autoconfig.one.test")
            self.assertEqual(certificate, default)
            self.assertTrue(response.startswith(b"HTTP/1.1 200 "), response[:200])

    def test_restartKeepsCertificates(self) -> None:
        """
        After a restart, mailfront serves the stored certificates at once and
        orders none; the account and certificate keys are readable by their
        owner only.
        """
        first = self._startMailfront()
        self._waitForCertificates(first)
        first.process.terminate()
        first.process.wait(timeout=10)

        second = self._startMailfront()
        self.assertIn("ACME: watching 2 domains, 0 need a certificate now", second.log())
        context = ssl.create_default_context(cafile=self._pebbleRoot())
        certificate, response = self._fetch(
            second, context, "autoconfig.two.test", "autoconfig.two.test"
        )
        self.assertTrue(response.startswith(b"HTTP/1.1 200 "), response[:200])

        for domain in DOMAINS:
            folder = os.path.join(self.acmeDirectory, "certificates", domain)
            self.assertEqual(stat.S_IMODE(os.stat(folder).st_mode), 0o700)
            key = os.path.join(folder, "privkey.pem")
            self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        accounts = os.path.join(self.acmeDirectory, "accounts")
        (account,) = os.listdir(accounts)
        accountKey = os.path.join(accounts, account, "private_key.pem")
        self.assertEqual(stat.S_IMODE(os.stat(accountKey).st_mode), 0o600)
