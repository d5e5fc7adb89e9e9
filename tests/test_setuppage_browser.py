"""
End-to-end test of the setup page in a real headless Chromium.

The running service (C{twistd -n mailfront} on 127.0.0.1) serves HTTPS with
a throwaway certificate for C{autoconfig.example.com}. Chromium resolves
that name to 127.0.0.1 and no other name at all, trusts only that
certificate's key, loads the page, and a person's steps are replayed: type
an address, submit, read the settings, scan the QR code, download the
profile.

Needs the Debian packages C{chromium}, C{chromium-driver} and C{zbar-tools}
and the PyPI package C{selenium}; Selenium Manager is bypassed, so nothing
is downloaded at run time. With the environment variable
C{MAILFRONT_WRITE_SCREENSHOT=1} the test also writes the screenshot of the
page to C{docs/images/setup-page.png}.
"""

from __future__ import annotations

import base64
import hashlib
import os
import plistlib
import shutil
import subprocess
import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from twisted.trial.unittest import TestCase

from .running import ROOT, RunningService, startMailfront
from .signingchain import makeChain

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - selenium is a test extra
    webdriver = None  # type: ignore[assignment]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
HOST = "autoconfig.example.com"
SCREENSHOT = os.path.join(ROOT, "docs", "images", "setup-page.png")

#: Seconds to wait for a page or a download.
WAIT_SECONDS = 20


def _missingTools() -> list[str]:
    missing = []
    if webdriver is None:
        missing.append("the selenium package (test extras)")
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            missing.append(f"{path} (Debian package {package})")
    if shutil.which("zbarimg") is None:
        missing.append("zbarimg (Debian package zbar-tools)")
    if shutil.which("openssl") is None:
        missing.append("openssl (Debian package openssl)")
    return missing


def _spkiHash(certificate: Any) -> str:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


class SetupPageBrowserTests(TestCase):
    """
    A person using the setup page in Chromium sees their settings and gets
    the signed profile.
    """

    timeout = 120

    def setUp(self) -> None:
        missing = _missingTools()
        if missing:
            raise self.skipTest("missing " + ", ".join(missing))
        self.chain = makeChain((HOST,))
        pair, self.rootPath = self.chain.write(os.path.abspath(self.mktemp()))
        self.service: RunningService = startMailfront(
            self, extraArguments=["--tls-certificate", pair.certificatePath,
                                  "--tls-key", pair.keyPath]
        )
        self.downloads = os.path.abspath(self.mktemp())
        os.makedirs(self.downloads)
        self.driver = self.startChromium()

    def startChromium(self) -> Any:
        # Selenium Manager would look for browsers and drivers online. The
        # explicit driver path skips it, and offline mode forbids it.
        previous = os.environ.get("SE_OFFLINE")
        os.environ["SE_OFFLINE"] = "true"
        self.addCleanup(self.restoreEnvironment, previous)

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1000,900",
            f"--user-data-dir={os.path.abspath(self.mktemp())}",
            # The page's host name goes to the test service, and every other
            # name fails to resolve.
            f"--host-resolver-rules=MAP {HOST} 127.0.0.1, MAP * ~NOTFOUND",
            # Trust the test certificate's key, and no other untrusted one.
            f"--ignore-certificate-errors-spki-list={_spkiHash(self.chain.leaf)}",
        ):
            options.add_argument(flag)
        options.add_experimental_option("prefs", {
            "download.default_directory": self.downloads,
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        })
        service = Service(executable_path=CHROMEDRIVER,
                          log_output=os.path.abspath(self.mktemp()))
        driver = webdriver.Chrome(service=service, options=options)
        self.addCleanup(driver.quit)
        driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                               {"behavior": "allow", "downloadPath": self.downloads})
        return driver

    def restoreEnvironment(self, previous: str | None) -> None:
        if previous is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = previous

    def base(self) -> str:
        return f"https://{HOST}:{self.service.httpsPort}"

    def test_setupFlow(self) -> None:
        """
        The page loads over HTTPS with its style sheet allowed, shows the
        settings of a typed address, offers a QR code of the profile link,
        and the download link delivers the profile signed by the served
        certificate.
        """
        driver = self.driver
        wait = WebDriverWait(driver, WAIT_SECONDS)
        driver.get(self.base() + "/")
        self.assertEqual(driver.find_element(By.TAG_NAME, "h1").text, "Example Hosting Mail")

        field = driver.find_element(By.ID, "emailaddress")
        field.send_keys("fred+lists@example.com")
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        heading = wait.until(expected_conditions.presence_of_element_located((By.ID, "settings")))
        self.assertEqual(heading.text, "Settings for fred+lists@example.com")
        self.assertEqual(driver.current_url,
                         self.base() + "/?emailaddress=fred%2Blists%40example.com")

        self.checkSettings()
        self.checkStyle()
        self.checkQRCode()
        self.saveScreenshot()
        self.checkDownload()

    def checkSettings(self) -> None:
        rows = [
            [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in self.driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        ]
        self.assertEqual(rows, [
            ["IMAP (recommended)", "mail.example-hosting.net", "993", "SSL/TLS",
             "fred+lists@example.com", "Normal password"],
            ["IMAP", "mail.example-hosting.net", "143", "STARTTLS",
             "fred+lists@example.com", "Normal password"],
            ["POP3", "mail.example-hosting.net", "995", "SSL/TLS",
             "fred+lists@example.com", "Normal password"],
            ["SMTP (recommended)", "smtp.example-hosting.net", "465", "SSL/TLS",
             "fred+lists@example.com", "Normal password"],
            ["SMTP", "smtp.example-hosting.net", "587", "STARTTLS",
             "fred+lists@example.com", "Normal password"],
        ])

    def checkStyle(self) -> None:
        # The button is blue only if the Content-Security-Policy let the
        # inline style sheet through.
        link = self.driver.find_element(By.ID, "profile-link")
        self.assertEqual(link.value_of_css_property("background-color"), "rgba(11, 87, 208, 1)")
        violations = [entry for entry in self.driver.get_log("browser")
                      if "Content Security Policy" in entry.get("message", "")]
        self.assertEqual(violations, [])

    def checkQRCode(self) -> None:
        image = self.driver.find_element(By.CSS_SELECTOR, "img.qr")
        path = os.path.abspath(self.mktemp()) + ".png"
        with open(path, "wb") as f:
            f.write(image.screenshot_as_png)
        result = subprocess.run(["zbarimg", "--quiet", "--raw", path],
                                capture_output=True, timeout=30, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            result.stdout.decode("utf-8").strip(),
            self.base() + "/apple/mail.mobileconfig?emailaddress=fred%2Blists%40example.com",
        )

    def saveScreenshot(self) -> None:
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        height = int(metrics["cssContentSize"]["height"])
        self.driver.set_window_size(1000, height + 140)
        path = os.path.abspath(self.mktemp()) + ".png"
        self.assertTrue(self.driver.save_screenshot(path))
        if os.environ.get("MAILFRONT_WRITE_SCREENSHOT") == "1":
            os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
            shutil.copyfile(path, SCREENSHOT)

    def checkDownload(self) -> None:
        self.driver.find_element(By.ID, "profile-link").click()
        path = os.path.join(self.downloads, "example.com.mobileconfig")
        deadline = time.monotonic() + WAIT_SECONDS
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertTrue(os.path.exists(path), os.listdir(self.downloads))
        with open(path, "rb") as f:
            signed = f.read()

        result = subprocess.run(
            ["openssl", "cms", "-verify", "-inform", "DER", "-CAfile", self.rootPath,
             "-purpose", "any"],
            input=signed, capture_output=True, timeout=30, check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        mail = plistlib.loads(result.stdout)["PayloadContent"][0]
        self.assertEqual(mail["EmailAddress"], "fred+lists@example.com")
        self.assertEqual(mail["IncomingMailServerHostName"], "mail.example-hosting.net")
        self.assertEqual(mail["OutgoingMailServerPortNumber"], 465)
