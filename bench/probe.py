"""One scale probe, in its own process so that it can use its own database:

    BENCH_DATABASE=twofold_bench_small python -m bench.probe USERS PORT [--prepare]

Grows that database's benchmark organisation to USERS users, serves it on PORT, measures
validate latency one client at a time with the last 1,000 users (the main run uses the
first ones), and prints the probe as JSON (see ``report.latency_probe``). With --prepare
it only grows the database.
"""

from __future__ import annotations

import json
import sys

from bench import harness, report, seed


def main() -> None:
    count, port = int(sys.argv[1]), int(sys.argv[2])
    harness.prepare_database()
    org = seed.seed_users(count, log=lambda text: print(text, file=sys.stderr))
    if "--prepare" in sys.argv:
        print(json.dumps({}))
        return
    server = harness.twofold_server(port)
    try:
        token = seed.api_token(org)
        users = harness.Users(count - 1000)
        probe = report.latency_probe(
            server, users, token, harness.code_only, harness.measure, harness.password_body
        )
    finally:
        server.stop()
    print(json.dumps(probe))


if __name__ == "__main__":
    main()
