"""
The twistd plugin: C{twistd -n mailfront --help}.
"""

from twisted.application.service import ServiceMaker

mailfront = ServiceMaker(
    "mailfront",
    "mailfront.tap",
    "Mail client auto-configuration server (Autoconfig, Autodiscover, DNS).",
    "mailfront",
)
