# Deployment with `twistd -ny mailfront.tac`, for operators who prefer a tac
# file to the twistd plugin. It builds the same service as
# `twistd -n mailfront`; edit the ServiceConfig below to change listeners,
# configuration directory or certificate. Relative paths are relative to the
# directory twistd runs in.

from twisted.application.service import Application
from twisted.internet import reactor

from mailfront.admin import AdminTokenError
from mailfront.registry import InvalidConfiguration
from mailfront.service import ServiceConfig, freezeLoadedObjects, makeMailfrontService
from mailfront.tls import CertificateError, InvalidPolicy

config = ServiceConfig(
    configDirectory="examples/config",
    http=("tcp:8080:interface=127.0.0.1",),
    https=("tcp:8443:interface=127.0.0.1",),
    keyPair=None,  # KeyPair("/etc/mailfront/fullchain.pem", "/etc/mailfront/key.pem")
    stateDirectory="mailfront-state",
    profileSigningKeyPair=None,  # KeyPair("/etc/mailfront/signing.pem", "/etc/mailfront/signing.key")
    setupPath="/setup",
    # Certificates chosen by server name, and ACME; see docs/tls.md.
    certificateDirectory=None,  # "/etc/mailfront/certificates"
    acme=None,  # mailfront.tls.acmeclient.AcmeSettings(LETS_ENCRYPT_STAGING, "mailfront-state/acme")
    # Health, readiness, metrics and POST /reload; None for no admin listener.
    admin="tcp:8081:interface=127.0.0.1",
    dnsPort=None,  # a port such as 53 serves the zones of the [dns] table; see docs/dns.md
)

application = Application("mailfront")
# For JSON lines instead of text, uncomment (and import sys):
# from twisted.logger import ILogObserver
# from mailfront.logs import jsonLinesObserver
# application.setComponent(ILogObserver, jsonLinesObserver(sys.stdout))
try:
    makeMailfrontService(config, reactor).setServiceParent(application)
except (InvalidConfiguration, CertificateError, InvalidPolicy, AdminTokenError) as e:
    raise SystemExit(str(e)) from None
freezeLoadedObjects()
