# The ceiling server of the benchmark, run by bench/servers.py as
#   twistd --nodaemon --pidfile= --logfile LOG -y bench/ceiling.tac
# with these environment variables:
#   BENCH_CEILING_PORT          TCP port on 127.0.0.1
#   BENCH_CEILING_BODY          file whose bytes are the fixed answer
#   BENCH_CEILING_CONTENT_TYPE  the answer's media type

import os

from twisted.application.internet import TCPServer
from twisted.application.service import Application

from bench.ceiling import makeCeilingSite

with open(os.environ["BENCH_CEILING_BODY"], "rb") as f:
    body = f.read()

application = Application("bench-ceiling")
site = makeCeilingSite(body, os.environ["BENCH_CEILING_CONTENT_TYPE"].encode("ascii"))
TCPServer(
    int(os.environ["BENCH_CEILING_PORT"]), site, interface="127.0.0.1"
).setServiceParent(application)
