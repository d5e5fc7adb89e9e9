"""
Tests of the deployment files: the systemd units are valid, and
C{twistd mailfront} serves HTTP and HTTPS on sockets passed the way systemd
passes them.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time

from twisted.trial.unittest import TestCase

from .running import EXAMPLE_CONFIG, ROOT, TWISTD, freePort

DEPLOY = os.path.join(ROOT, "deploy")

#: Run in the child before twistd: move the inherited sockets to the
#: descriptors systemd uses (3, 4, ...) and name this process in
#: LISTEN_PID, then become twistd in the same process.
LAUNCHER = """
import fcntl, os, sys
count = int(sys.argv[1])
moved = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 100) for fd in sys.argv[2:2 + count]]
for index, fd in enumerate(moved):
    os.dup2(fd, 3 + index)
    os.close(fd)
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.executable, [sys.executable, *sys.argv[2 + count:]])
"""


def readUnit(name: str) -> str:
    with open(os.path.join(DEPLOY, name), encoding="utf-8") as f:
        return f.read()


class UnitFileTests(TestCase):
    """
    C{deploy/mailfront.service} and C{deploy/mailfront.socket}.
    """

    def test_systemdAccepts(self) -> None:
        """
        C{systemd-analyze verify} finds no problem in the units, with the
        twistd path pointed at this installation's twistd.
        """
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            raise self.skipTest("systemd-analyze is not installed (Debian package systemd)")
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        directory = self.mktemp()
        os.makedirs(directory)
        service = readUnit("mailfront.service").replace("/opt/mailfront/.venv/bin/twistd", twistd)
        with open(os.path.join(directory, "mailfront.service"), "w") as f:
            f.write(service)
        shutil.copy(os.path.join(DEPLOY, "mailfront.socket"), directory)

        result = subprocess.run(
            [analyze, "verify", "--man=no", "./mailfront.service", "./mailfront.socket"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=60,
        )

        self.assertEqual((result.returncode, result.stderr), (0, ""))

    def test_socketOrderMatchesIndexes(self) -> None:
        """
        The socket unit lists port 80 then 443, and the service takes index
        0 as HTTP and index 1 as HTTPS, as IPv6 sockets.
        """
        listens = re.findall(r"^ListenStream=(.*)$", readUnit("mailfront.socket"), re.M)
        service = readUnit("mailfront.service")

        self.assertEqual(listens, ["80", "443"])
        self.assertIn("--http systemd:domain=INET6:index=0", service)
        self.assertIn("--https systemd:domain=INET6:index=1", service)
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", service)


class SocketActivationTests(TestCase):
    """
    C{--http systemd:...} and C{--https systemd:...} adopt inherited
    sockets.
    """

    def listen(self) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(50)
        self.addCleanup(listener.close)
        return listener

    def test_inheritedSockets(self) -> None:
        """
        Started the way systemd starts a socket-activated service, mailfront
        serves Autoconfig on both inherited sockets, over HTTP and HTTPS.
        """
        plainSocket, secureSocket = self.listen(), self.listen()
        adminPort = freePort()
        state = os.path.abspath(self.mktemp())
        logPath = os.path.abspath(self.mktemp())
        environment = dict(os.environ)
        environment["PYTHONPATH"] = ROOT + os.pathsep + environment.get("PYTHONPATH", "")
        environment["LISTEN_FDS"] = "2"
        environment["LISTEN_FDNAMES"] = "mailfront.socket:mailfront.socket"
        command = [
            sys.executable,
            "-c",
            LAUNCHER,
            "2",
            str(plainSocket.fileno()),
            str(secureSocket.fileno()),
            *TWISTD[1:],
            "--nodaemon",
            "--pidfile=",
            "mailfront",
            "--config",
            EXAMPLE_CONFIG,
            "--http",
            "systemd:domain=INET:index=0",
            "--https",
            "systemd:domain=INET:index=1",
            "--admin",
            f"tcp:{adminPort}:interface=127.0.0.1",
            "--state-dir",
            state,
            "--watch",
            "off",
        ]
        with open(logPath, "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                pass_fds=(plainSocket.fileno(), secureSocket.fileno()),
            )
        self.addCleanup(self.stop, process)
        self.waitForAdmin(process, adminPort, logPath)
        path = "/mail/config-v1.1.xml?emailaddress=fred%40example.com"

        plain = http.client.HTTPConnection("127.0.0.1", plainSocket.getsockname()[1], timeout=10)
        plain.request("GET", path)
        plainResponse = plain.getresponse()
        plainBody = plainResponse.read()
        plain.close()
        context = ssl.create_default_context(cafile=os.path.join(state, "self-signed.pem"))
        secure = http.client.HTTPSConnection(
            "127.0.0.1", secureSocket.getsockname()[1], timeout=10, context=context
        )
        secure.request("GET", path)
        secureResponse = secure.getresponse()
        secureBody = secureResponse.read()
        secure.close()

        self.assertEqual(plainResponse.status, 200)
        self.assertIn(b"<domain>example.com</domain>", plainBody)
        self.assertEqual((secureResponse.status, secureBody), (200, plainBody))

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    def waitForAdmin(self, process: subprocess.Popen[bytes], port: int, logPath: str) -> None:
        """
        Wait until the admin listener, which mailfront binds itself after
        adopting the inherited sockets, reports ready.
        """
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                with open(logPath, encoding="utf-8", errors="replace") as f:
                    self.fail(f"mailfront exited with {process.returncode}:\n{f.read()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/readyz")
                report = json.loads(connection.getresponse().read())
                connection.close()
                if report["status"] == "ready":
                    return
            except OSError:
                time.sleep(0.05)
        self.fail("mailfront did not start within 20 s")
