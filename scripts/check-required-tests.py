#!/usr/bin/env python3
"""Fails CI when a test that must run on the CI machine was skipped.

Usage: scripts/check-required-tests.py BUILD_DIR JUNIT_XML
The required tests are those labelled `required-in-ci` (the browser tests, the Postfix mail tests and
the user tier's stage: tests/CMakeLists.txt, tests/mail/CMakeLists.txt). A skip of one of them is an
error when CI=true (or AIRLOCK_REQUIRE_ALL=1), a warning otherwise: a user without Chromium may still
run the suite, but CI must not pass by skipping.
"""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET


def required_tests(build_dir):
    out = subprocess.run(["ctest", "--test-dir", build_dir, "-N", "-L", "^required-in-ci$"],
                         check=True, capture_output=True, text=True).stdout
    return {m.group(1) for m in re.finditer(r"^\s*Test\s+#\d+: (\S+)", out, re.M)}


def junit_results(junit):
    """{test name: None when it ran, the skip reason when it was skipped}"""
    results = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        node = case.find("skipped")
        skipped = node is not None or case.get("status") in ("notrun", "disabled")
        why = (node.get("message") if node is not None else None) or case.get("status")
        results[case.get("name")] = why if skipped else None
    return results


def main():
    build_dir, junit = sys.argv[1], sys.argv[2]
    results = junit_results(junit)
    required = required_tests(build_dir) & results.keys()  # the required tests this ctest run had
    bad = {name: results[name] for name in required if results[name] is not None}
    strict = os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get("AIRLOCK_REQUIRE_ALL") == "1"
    if not required:
        print("check-required-tests: no test labelled required-in-ci was run", file=sys.stderr)
        return 1 if strict else 0
    for name, why in sorted(bad.items()):
        print(f"{'ERROR' if strict else 'warning'}: required test skipped: {name} ({why})", file=sys.stderr)
    if bad and strict:
        print(f"check-required-tests: {len(bad)} of {len(required)} required tests skipped in CI", file=sys.stderr)
        return 1
    print(f"check-required-tests: {len(required) - len(bad)} of {len(required)} required tests ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
