"""
Seed an automx2 SQLite database; run by the Python of automx2's own virtual
environment, so it imports nothing from mailfront or the benchmark.

Usage: python automx2_seed.py DATABASE < seed.json

The JSON holds C{providers}, a list of objects with C{name}, C{shortName},
C{servers} (C{[type, hostname, port, socketType]} in order of preference)
and C{domains}. The tables are created from automx2's own models, and the
rows are inserted with SQL, which takes seconds where the models' session
takes minutes for large registries.
"""

import json
import sqlite3
import sys

import sqlalchemy

from automx2.model import Base

#: automx2 names POP3 servers "pop".
_TYPES = {"imap": "imap", "pop3": "pop", "smtp": "smtp"}


def main(database: str) -> None:
    seed = json.load(sys.stdin)
    engine = sqlalchemy.create_engine(f"sqlite:///{database}")
    Base.metadata.create_all(engine)
    engine.dispose()

    connection = sqlite3.connect(database)
    domainID = 0
    serverID = 0
    for providerID, provider in enumerate(seed["providers"], start=1):
        connection.execute(
            "INSERT INTO provider (id, name, short_name) VALUES (?, ?, ?)",
            (providerID, provider["name"], provider["shortName"]),
        )
        domainIDs = []
        rows = []
        for name in provider["domains"]:
            domainID += 1
            domainIDs.append(domainID)
            rows.append((domainID, name, providerID))
        connection.executemany(
            "INSERT INTO domain (id, name, provider_id) VALUES (?, ?, ?)", rows
        )
        for preference, (serverType, hostname, port, socketType) in enumerate(
            provider["servers"]
        ):
            serverID += 1
            connection.execute(
                "INSERT INTO server (id, prio, name, port, type, socket_type, user_name,"
                " authentication) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    serverID,
                    10 * (preference + 1),
                    hostname,
                    port,
                    _TYPES[serverType],
                    socketType,
                    "%EMAILADDRESS%",
                    "plain",
                ),
            )
            connection.executemany(
                "INSERT INTO server_domain (server_id, domain_id) VALUES (?, ?)",
                [(serverID, d) for d in domainIDs],
            )
    connection.commit()
    connection.close()


if __name__ == "__main__":
    main(sys.argv[1])
