"""
End-to-end tests of the DNS authority: the real C{twistd mailfront} on
127.0.0.1 queried with C{dig}, and NSD as a secondary that transfers zones
from it and follows its NOTIFY messages.

Every tool is pointed at 127.0.0.1 explicitly; nothing here uses the
system's resolver.
"""

from __future__ import annotations

import os
import signal
import shutil
import socket
import subprocess
import time
from typing import Callable, Optional, Sequence

from twisted.trial.unittest import TestCase

from .running import EXAMPLE_CONFIG, freePort, startMailfront, stopProcess

#: Seconds a poll for an expected state may take.
POLL_TIMEOUT = 20.0


def requireTool(testCase: TestCase, name: str, package: str) -> str:
    """
    Return the path of a tool, or skip the test when it is missing.
    """
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        raise testCase.skipTest(f"{name} is not installed (Debian package {package})")
    return path


def freeDnsPort() -> int:
    """
    Find a port on 127.0.0.1 that is free for both UDP and TCP now.
    """
    for _ in range(50):
        port = freePort(socket.SOCK_DGRAM)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no port free for both UDP and TCP")


def dig(port: int, *arguments: str, source: Optional[str] = None) -> str:
    """
    Run C{dig} against 127.0.0.1 without recursion and return its output.
    """
    command = ["dig", "@127.0.0.1", "-p", str(port), "+norecurse", "+time=5", "+tries=2"]
    if source is not None:
        command += ["-b", source]
    result = subprocess.run(command + list(arguments), capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def answer(port: int, *arguments: str) -> list[str]:
    """
    The answer section as sorted lines with single spaces.
    """
    output = dig(port, "+noall", "+answer", *arguments)
    return sorted(" ".join(line.split()) for line in output.splitlines() if line.strip())


def header(output: str) -> tuple[str, set[str]]:
    """
    The status and the flags of the first response in C{dig} output.
    """
    for line in output.splitlines():
        if "status:" in line:
            status = line.split("status:")[1].split(",")[0].strip()
        if line.startswith(";; flags:"):
            flags = set(line.split(";")[2].split(":")[1].split())
            return status, flags
    raise AssertionError(f"no header in dig output:\n{output}")


def section(output: str, name: str) -> list[str]:
    """
    The lines of a section (C{ANSWER}, C{AUTHORITY}) of C{dig} output.
    """
    lines = output.splitlines()
    marker = f";; {name} SECTION:"
    if marker not in lines:
        return []
    start = lines.index(marker) + 1
    result = []
    for line in lines[start:]:
        if not line.strip():
            break
        result.append(" ".join(line.split()))
    return result


def waitFor(description: str, check: Callable[[], bool], timeout: float = POLL_TIMEOUT) -> None:
    """
    Poll C{check} until it returns true, for at most C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {description}")


def writeConfig(testCase: TestCase, files: dict[str, str], keep: Sequence[str] = ()) -> str:
    """
    Build a configuration directory from the example files named in
    C{keep} (all when empty) and C{files}.
    """
    directory = os.path.abspath(testCase.mktemp())
    os.makedirs(directory)
    for name in os.listdir(EXAMPLE_CONFIG):
        if name.endswith(".toml") and (not keep or name in keep):
            shutil.copy(os.path.join(EXAMPLE_CONFIG, name), directory)
    for name, text in files.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write(text)
    return directory


def exampleDns(replacements: dict[str, str]) -> str:
    """
    The example C{dns.toml} with text replaced.
    """
    with open(os.path.join(EXAMPLE_CONFIG, "dns.toml"), encoding="utf-8") as f:
        text = f.read()
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"examples/config/dns.toml no longer contains {old!r}")
        text = text.replace(old, new)
    return text


#: Forty IMAP servers: an SRV answer too large for one UDP message.
BIG_PROVIDER = "".join(
    [
        '[providers.big]\ndomains = ["big.example"]\n',
        '[[providers.big.outgoing]]\ntype = "smtp"\nhostname = "smtp.example-hosting.net"\n'
        'port = 465\nsocket-type = "SSL"\nauthentication = ["password-cleartext"]\n',
    ]
    + [
        f'[[providers.big.incoming]]\ntype = "imap"\n'
        f'hostname = "imap{index:02d}.example-hosting.net"\n'
        'port = 993\nsocket-type = "SSL"\nauthentication = ["password-cleartext"]\n'
        for index in range(40)
    ]
)

ADDRESSES = exampleDns(
    {
        'mailfront-hostname = "discovery.example-hosting.net"': (
            'mailfront-addresses = ["192.0.2.10", "2001:db8::10"]'
        )
    }
)


class DigTests(TestCase):
    """
    C{dig} against the running service, in the C{subdomains} layout with
    addresses for the discovery names.
    """

    def setUp(self) -> None:
        requireTool(self, "dig", "bind9-dnsutils")
        self.port = freeDnsPort()
        config = writeConfig(self, {"dns.toml": ADDRESSES, "big.toml": BIG_PROVIDER})
        self.service = startMailfront(
            self, config, extraArguments=["--dns-port", str(self.port)], waitPorts=[self.port]
        )

    def test_srvOverUdpAndTcp(self) -> None:
        """
        An SRV query gets the same authoritative answer over UDP and TCP.
        """
        expected = ["_imaps._tcp.example.com. 3600 IN SRV 0 0 993 mail.example-hosting.net."]
        self.assertEqual(answer(self.port, "_imaps._tcp.example.com", "SRV"), expected)
        self.assertEqual(answer(self.port, "+tcp", "_imaps._tcp.example.com", "SRV"), expected)
        for transport in ("+notcp", "+tcp"):
            status, flags = header(dig(self.port, transport, "_imaps._tcp.example.com", "SRV"))
            with self.subTest(transport=transport):
                self.assertEqual(status, "NOERROR")
                self.assertIn("aa", flags)
                self.assertNotIn("ra", flags)

    def test_txt(self) -> None:
        """
        TXT queries get the RFC 6764 path and the MTA-STS record.
        """
        self.assertEqual(
            answer(self.port, "_carddavs._tcp.customer-one.example", "TXT"),
            ['_carddavs._tcp.customer-one.example. 3600 IN TXT "path=/carddav/"'],
        )
        [line] = answer(self.port, "+tcp", "_mta-sts.example.com", "TXT")
        self.assertRegex(line, r'^_mta-sts\.example\.com\. 3600 IN TXT "v=STSv1; id=[0-9a-f]{32}"$')

    def test_addresses(self) -> None:
        """
        C{autoconfig.D} answers A and AAAA with the configured addresses.
        """
        self.assertEqual(
            answer(self.port, "autoconfig.example.com", "A"),
            ["autoconfig.example.com. 3600 IN A 192.0.2.10"],
        )
        self.assertEqual(
            answer(self.port, "+tcp", "autodiscover.example.com", "AAAA"),
            ["autodiscover.example.com. 3600 IN AAAA 2001:db8::10"],
        )

    def test_nxdomain(self) -> None:
        """
        A missing name gets NXDOMAIN, AA, and the SOA record with the
        negative TTL.
        """
        output = dig(self.port, "_nothing._tcp.example.com", "SRV")
        self.assertEqual(header(output), ("NXDOMAIN", {"qr", "aa"}))
        [soa] = section(output, "AUTHORITY")
        self.assertTrue(
            soa.startswith("_tcp.example.com. 300 IN SOA ns1.example-hosting.net."), soa
        )

    def test_nodata(self) -> None:
        """
        A name without the asked type gets NOERROR, no answer, AA, and the
        SOA record.
        """
        output = dig(self.port, "+tcp", "_imaps._tcp.example.com", "A")
        self.assertEqual(header(output), ("NOERROR", {"qr", "aa"}))
        self.assertEqual(section(output, "ANSWER"), [])
        self.assertEqual(len(section(output, "AUTHORITY")), 1)
        self.assertIn(" SOA ", section(output, "AUTHORITY")[0])

    def test_refused(self) -> None:
        """
        A name outside the served zones gets REFUSED.
        """
        self.assertEqual(header(dig(self.port, "www.example.org", "A")), ("REFUSED", {"qr"}))

    def test_transferAllowed(self) -> None:
        """
        AXFR from 127.0.0.1, which C{allow-transfer} lists, returns the zone
        between two SOA records.
        """
        lines = [
            " ".join(line.split())
            for line in dig(self.port, "_tcp.example.com", "AXFR").splitlines()
            if line and not line.startswith(";")
        ]
        self.assertEqual((lines[0].split()[3], lines[-1].split()[3]), ("SOA", "SOA"))
        self.assertIn(
            "_submissions._tcp.example.com. 3600 IN SRV 0 0 465 smtp.example-hosting.net.", lines
        )
        self.assertEqual(len(lines), 11)

    def test_transferRefused(self) -> None:
        """
        AXFR from 127.0.0.2, which C{allow-transfer} does not list, is
        refused, and the refusal is logged.
        """
        output = dig(self.port, "+comments", "_tcp.example.com", "AXFR", source="127.0.0.2")
        self.assertIn("Transfer failed.", output)
        self.assertEqual(header(output), ("REFUSED", {"qr"}))
        self.assertNotIn(" SOA ", output)
        waitFor("the refusal in the log", lambda: "not in dns.allow-transfer" in self.service.log())

    def test_truncationAndRetry(self) -> None:
        """
        A 40-record answer does not fit in UDP: the UDP response has the TC
        bit, and dig's retry over TCP gets every record.
        """
        output = dig(self.port, "+ignore", "+bufsize=1232", "_imaps._tcp.big.example", "SRV")
        status, flags = header(output)
        self.assertEqual(status, "NOERROR")
        self.assertIn("tc", flags)
        retried = dig(self.port, "_imaps._tcp.big.example", "SRV")
        self.assertIn("Truncated, retrying in TCP mode.", retried)
        self.assertEqual(len(section(retried, "ANSWER")), 40)

    def test_badPacketsDoNotStopService(self) -> None:
        """
        Garbage, a truncated query and a query with an unknown class get an
        error code or nothing, and the service goes on answering.
        """
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(10)
            s.connect(("127.0.0.1", self.port))
            s.send(b"\xff")
            s.send(b"\x12\x34" + b"\x00" * 3)
            s.send(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05_imap")
            reply = s.recv(512)
            self.assertEqual((reply[:2], reply[3] & 0x0F), (b"\x12\x34", 1))
        output = dig(self.port, "-c", "CLASS1234", "_imaps._tcp.example.com", "SRV")
        self.assertEqual(header(output)[0], "REFUSED")
        self.assertEqual(
            answer(self.port, "_imaps._tcp.example.com", "SRV"),
            ["_imaps._tcp.example.com. 3600 IN SRV 0 0 993 mail.example-hosting.net."],
        )


class DomainLayoutDigTests(TestCase):
    """
    C{dig} against a service that serves each domain as a whole zone.
    """

    def test_cname(self) -> None:
        """
        C{autoconfig.D} answers with a CNAME to the mailfront host.
        """
        requireTool(self, "dig", "bind9-dnsutils")
        port = freeDnsPort()
        layout = exampleDns({'zone-layout = "subdomains"': 'zone-layout = "domain"'})
        config = writeConfig(self, {"dns.toml": layout}, keep=["hosting.toml"])
        startMailfront(self, config, extraArguments=["--dns-port", str(port)], waitPorts=[port])
        output = dig(port, "autoconfig.example.net", "A")
        self.assertEqual(header(output), ("NOERROR", {"qr", "aa"}))
        self.assertEqual(
            section(output, "ANSWER"),
            ["autoconfig.example.net. 3600 IN CNAME discovery.example-hosting.net."],
        )


#: NSD as a secondary of one zone on 127.0.0.1, with every file in its own
#: directory and no privilege drop or chroot.
NSD_CONF = """
server:
    ip-address: 127.0.0.1
    port: {nsdPort}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{directory}"
    zonelistfile: "{directory}/zone.list"
    database: ""
    pidfile: "{directory}/nsd.pid"
    xfrdfile: "{directory}/xfrd.state"
    xfrdir: "{directory}"
    logfile: "{directory}/nsd.log"
    verbosity: 2
    server-count: 1
remote-control:
    control-enable: no
zone:
    name: "_tcp.example.com"
    zonefile: "_tcp.example.com.zone"
    request-xfr: AXFR 127.0.0.1@{mailfrontPort} NOKEY
    allow-notify: 127.0.0.1 NOKEY
"""


class SecondaryTests(TestCase):
    """
    NSD replicating a zone from mailfront.
    """

    def startNsd(self, port: int, mailfrontPort: int) -> str:
        """
        Start NSD on C{port} as a secondary of C{_tcp.example.com}.

        @return: The path of its log file.
        """
        nsd = requireTool(self, "nsd", "nsd")
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        configPath = os.path.join(directory, "nsd.conf")
        with open(configPath, "w", encoding="utf-8") as f:
            f.write(NSD_CONF.format(nsdPort=port, directory=directory, mailfrontPort=mailfrontPort))
        process = subprocess.Popen(
            [nsd, "-d", "-c", configPath],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.addCleanup(stopProcess, process)
        return os.path.join(directory, "nsd.log")

    def serial(self, port: int) -> Optional[int]:
        """
        The SOA serial of C{_tcp.example.com} at a server, if it has one.
        """
        lines = answer(port, "_tcp.example.com", "SOA")
        if len(lines) != 1:
            return None
        return int(lines[0].split()[6])

    def test_transferAndNotify(self) -> None:
        """
        NSD transfers the zone and answers an SRV query exactly as mailfront
        does. After a configuration change, mailfront's NOTIFY makes NSD
        fetch the new serial long before its hour-long refresh timer.
        """
        requireTool(self, "dig", "bind9-dnsutils")
        requireTool(self, "nsd", "nsd")
        mailfrontPort, port = freeDnsPort(), freeDnsPort()
        if port == mailfrontPort:
            raise AssertionError(f"port {port} was chosen twice; run the test again")
        dnsText = exampleDns(
            {'# notify = ["192.0.2.53", "[2001:db8::53]:53"]': f'notify = ["127.0.0.1:{port}"]'}
        )
        config = writeConfig(self, {"dns.toml": dnsText}, keep=["hosting.toml"])
        service = startMailfront(
            self,
            config,
            extraArguments=["--dns-port", str(mailfrontPort), "--watch", "off"],
            waitPorts=[mailfrontPort],
        )

        nsdLog = self.startNsd(port, mailfrontPort)
        first = self.serial(mailfrontPort)
        self.assertIsNotNone(first)
        waitFor("NSD to transfer the zone", lambda: self.serial(port) == first)
        query = ("_imaps._tcp.example.com", "SRV")
        self.assertEqual(
            answer(port, *query),
            ["_imaps._tcp.example.com. 3600 IN SRV 0 0 993 mail.example-hosting.net."],
        )
        self.assertEqual(answer(port, *query), answer(mailfrontPort, *query))

        # mailfront sends NOTIFY for every zone when it starts. Wait until
        # NSD has acknowledged that, so the next acknowledgement can only
        # come from the NOTIFY that follows the change.
        acknowledged = "acknowledged NOTIFY for _tcp.example.com."
        waitFor("the first NOTIFY to be acknowledged", lambda: acknowledged in service.log())
        notifiesBefore = self.notifyCount(nsdLog)

        hosting = os.path.join(config, "hosting.toml")
        with open(hosting, encoding="utf-8") as f:
            text = f.read()
        with open(hosting, "w", encoding="utf-8") as f:
            f.write(text.replace("port = 993", "port = 994", 1))
        os.kill(service.process.pid, signal.SIGHUP)
        waitFor("mailfront to reload", lambda: (self.serial(mailfrontPort) or 0) > (first or 0))

        second = self.serial(mailfrontPort)
        self.assertIsNotNone(second)
        waitFor("NSD to fetch the new serial", lambda: self.serial(port) == second)
        self.assertEqual(
            answer(port, *query),
            ["_imaps._tcp.example.com. 3600 IN SRV 0 0 994 mail.example-hosting.net."],
        )
        self.assertEqual(answer(port, *query), answer(mailfrontPort, *query))
        self.assertGreater(self.notifyCount(nsdLog), notifiesBefore)
        waitFor(
            "mailfront to log the second acknowledgement",
            lambda: service.log().count(acknowledged) == 2,
        )

    def notifyCount(self, nsdLog: str) -> int:
        """
        How many NOTIFY messages for the zone NSD has logged.
        """
        with open(nsdLog, encoding="utf-8", errors="replace") as f:
            return f.read().count("notify for _tcp.example.com. from 127.0.0.1")
