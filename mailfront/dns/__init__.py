"""
The live DNS authority: zones from the current snapshot served over UDP and
TCP with C{twisted.names}, zone transfers to secondaries, and DNS NOTIFY.
"""
