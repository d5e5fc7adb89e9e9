"""
mailfront: mail client auto-configuration from one registry of domains.

Subpackages, in the order their dependencies point: L{mailfront.registry}
(validated records), L{mailfront.render} (records to bytes per client
family), the network adapters (L{mailfront.web}), and the wiring in
L{mailfront.service}.
"""

__version__ = "0.1.0"
