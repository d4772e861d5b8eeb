"""Smoke-test the benchmark reference: pgbench tpcb-like next to a trivial psycopg load.

Usage: .venv/bin/python bench/reference_selftest.py [--seconds 5] [--admin-url URL]

It creates its own pgbench database, measures pgbench at 1 and 8 clients, runs ``select 1``
through ``run_load`` at the same client counts, prints the comparison table and drops the
database again, also when something fails halfway.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

sys.path.insert(0, str(Path(__file__).parent))

# bench/ is not a package: the shared helpers are imported from this directory.
import _reference

CLIENT_COUNTS = (1, 8)


class SelectOneWorker:
    """One connection per load thread, issuing ``select 1`` once per call."""

    def __init__(self, url: str) -> None:
        # Autocommit so each call is exactly one round trip, the cheapest possible request:
        # the ratio against tpcb then shows the ceiling of any Python/psycopg client here.
        self._conn: psycopg.Connection[Any] = psycopg.connect(url, autocommit=True)

    def __call__(self) -> None:
        self._conn.execute("select 1")

    def close(self) -> None:
        self._conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=5, help="duration of each run")
    parser.add_argument("--admin-url", default=_reference.DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)

    url = _reference.pgbench_init(args.admin_url)
    dbname = str(conninfo_to_dict(url)["dbname"])
    try:
        reference = {
            clients: _reference.pgbench_run(url, clients, args.seconds) for clients in CLIENT_COUNTS
        }
        ours = [
            _reference.run_load(
                "psycopg select 1",
                clients,
                args.seconds,
                lambda _index: SelectOneWorker(url),
            )
            for clients in CLIENT_COUNTS
        ]
        _reference.print_table([*reference.values(), *ours], reference)
    finally:
        _reference.drop_database(args.admin_url, dbname)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
