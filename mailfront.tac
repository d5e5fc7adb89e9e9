# Deployment with `twistd -ny mailfront.tac`, for operators who prefer a tac
# file to the twistd plugin. It builds the same service as
# `twistd -n mailfront`; edit the ServiceConfig below to change listeners,
# configuration directory or certificate. Relative paths are relative to the
# directory twistd runs in.

from twisted.application.service import Application
from twisted.internet import reactor

from mailfront.registry import InvalidConfiguration
from mailfront.service import ServiceConfig, makeMailfrontService

config = ServiceConfig(
    configDirectory="examples/config",
    http=("tcp:8080:interface=127.0.0.1",),
    https=("tcp:8443:interface=127.0.0.1",),
    keyPair=None,  # KeyPair("/etc/mailfront/fullchain.pem", "/etc/mailfront/key.pem")
    stateDirectory="mailfront-state",
    dnsPort=None,  # a port such as 53 serves the zones of the [dns] table; see docs/dns.md
)

application = Application("mailfront")
try:
    makeMailfrontService(config, reactor).setServiceParent(application)
except InvalidConfiguration as e:
    raise SystemExit(str(e)) from None
