"""The ``runnerkit`` command line (placeholder until the CLI issue lands)."""

from __future__ import annotations

import json
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``runnerkit`` console script."""
    args = sys.argv[1:] if argv is None else argv
    from runnerkit._container import default_container

    if args[:1] == ["list"]:
        recs = default_container().records()
        if "--json" in args:
            print(json.dumps([r.to_json() for r in recs], indent=2))
        else:
            for r in recs:
                print(r.kind, r.name, r.target, r.distribution, r.version, r.source)
        return 0
    print("usage: runnerkit list [--json]", file=sys.stderr)
    return 2
