#!/usr/bin/python3
"""Validates JSON documents against a JSON Schema (draft 2020-12 or draft-07, from its $schema).

Usage: validate_json_schema.py SCHEMA DOC...   References to the other *.schema.json files of SCHEMA's
directory (e.g. "envelope.schema.json", by their $id) are resolved locally. Exit 0 when every DOC is valid, 1 when one is not
(each error printed), 2 on a usage error or when python3-jsonschema is missing (never a silent pass).
"""
import json
import os
import sys


def make_validator(jsonschema, schema_path, schema):
    """A validator for `schema` that resolves the sibling schemas by $id (jsonschema 4.18+ through
    `referencing`, older releases such as Debian 12's 4.10 through RefResolver)."""
    siblings = {}
    folder = os.path.dirname(os.path.abspath(schema_path))
    for name in sorted(os.listdir(folder)):
        if name.endswith(".schema.json"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                doc = json.load(f)
            if "$id" in doc:
                siblings[doc["$id"]] = doc
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    try:
        from referencing import Registry, Resource
        registry = Registry().with_resources((uri, Resource.from_contents(doc)) for uri, doc in siblings.items())
        return cls(schema, registry=registry)
    except (ImportError, TypeError):
        resolver = jsonschema.RefResolver.from_schema(schema, store=siblings)
        return cls(schema, resolver=resolver)


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
    validator = make_validator(jsonschema, argv[1], schema)
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
