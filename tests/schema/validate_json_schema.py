#!/usr/bin/python3
"""Validates JSON documents against a JSON Schema (draft 2020-12 or draft-07, from its $schema).

Usage: validate_json_schema.py SCHEMA DOC...   Exit 0 when every DOC is valid, 1 when one is not
(each error printed), 2 on a usage error or when python3-jsonschema is missing (never a silent pass).
"""
import json
import sys


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import jsonschema
    except ImportError:
        print("validate_json_schema.py: python3-jsonschema is not installed (scripts/install-deps.sh)", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    bad = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            print(f"{path}: {where}: {e.message}", file=sys.stderr)
        bad += 1 if errors else 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
