"""
The mailfront benchmark suite: C{python -m bench}.

It measures mailfront over loopback with C{wrk} and C{dnsperf} next to a bare
twisted.web server (the ceiling) and the automx2 peer, and measures how
registries of up to a million domains load. See C{bench/README.md}.
"""
