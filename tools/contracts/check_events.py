"""Validates EventBridge events (one JSON object a line on stdin) against
firsthour's published schemas (events/schemas/<detail-type>.json, JSON
Schema draft 4, as the EventBridge schema registry holds them), with the
`jsonschema` package from PyPI, not firsthour's own code.

Prints one line per event ("ok LeadRouted <id>" or "invalid …: why") and
exits 1 when any event is invalid or has no schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jsonschema import Draft4Validator


def main() -> int:
    schemas_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("events/schemas")
    validators: dict[str, Draft4Validator] = {}
    for path in sorted(schemas_dir.glob("*.json")):
        schema = json.loads(path.read_text())
        Draft4Validator.check_schema(schema)
        validators[path.stem] = Draft4Validator(schema)
    failed = False
    for line in sys.stdin:
        if not line.strip():
            continue
        event = json.loads(line)
        kind = event.get("detail-type", "")
        validator = validators.get(kind)
        if validator is None:
            print(f"invalid {kind or '?'}: no schema for this detail-type")
            failed = True
            continue
        errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path))
        if errors:
            failed = True
            for error in errors:
                where = "/".join(str(p) for p in error.path) or "(the event)"
                print(f"invalid {kind} {event.get('id')}: {where}: {error.message}")
        else:
            print(f"ok {kind} {event.get('id')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
