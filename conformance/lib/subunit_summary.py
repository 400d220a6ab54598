#!/usr/bin/env python3
"""Count a Tempest run's results from its subunit v2 stream and print the verdict.

Run with the Tempest venv's python (it needs python-subunit and testtools).

Every selected test (--ids: ids without tags) ends as passed (success, xfail), skipped, or
failed (fail, uxsuccess, still in progress, or absent from the stream: a test that did not
run did not pass; so each selected test of a class whose setUpClass failed counts as failed).
A failed fixture that no selected test stands for (tearDownClass, say) adds one failure.
Prints each failure with its traceback, the skips with their reasons, and last the line
    tempest: N passed, N failed, N skipped
Exits 0 only if nothing failed and at least one test passed.
"""

import argparse
import os
import re
import sys

PASS = {"success", "xfail"}
SKIP = {"skip"}
FIXTURE = re.compile(r"^(setUpClass|tearDownClass|setUpModule|tearDownModule) \((.+)\)$")
MAX_TRACEBACK_LINES = 80


def read_stream(path):
    """Return {test id: {'status': str, 'details': {name: text}}} from a subunit v2 file."""
    results = {}
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return results
    import subunit
    import testtools

    def on_test(test):
        if test["status"] in (None, "exists"):
            return
        details = {}
        for name, content in (test.get("details") or {}).items():
            try:
                details[name] = "".join(content.iter_text())
            except Exception:  # binary attachment
                continue
        results[test["id"]] = {"status": test["status"], "details": details}

    with open(path, "rb") as f:
        stream = subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout")
        result = testtools.StreamToDict(on_test)
        result.startTestRun()
        try:
            stream.run(result)
        finally:
            result.stopTestRun()
    return results


def bare(test_id):
    return test_id.split("[", 1)[0]


def show(text, indent="    "):
    lines = text.rstrip().splitlines()
    if len(lines) > MAX_TRACEBACK_LINES:
        cut = len(lines) - MAX_TRACEBACK_LINES
        lines = [f"... ({cut} lines cut)"] + lines[-MAX_TRACEBACK_LINES:]
    return "\n".join(indent + line for line in lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subunit", help="subunit v2 file (may be absent: nothing ran)")
    p.add_argument("--ids", required=True, help="selected test ids, one per line")
    p.add_argument("--why-not-run", default="not in Tempest's results",
                   help="reason printed for selected tests that have no result")
    a = p.parse_args()

    with open(a.ids, encoding="utf-8") as f:
        selected = [line.strip() for line in f if line.strip()]

    results = read_stream(a.subunit)
    by_bare = {}
    fixtures = {}  # failed fixture id -> result
    broken_classes = set()
    for test_id, r in results.items():
        m = FIXTURE.match(test_id)
        if m:
            if r["status"] not in PASS | SKIP:
                fixtures[test_id] = r
                if m.group(1) == "setUpClass":
                    broken_classes.add(m.group(2))
            continue
        by_bare[bare(test_id)] = (test_id, r)

    passed, skipped, failures, skips, not_run = 0, 0, [], [], []
    in_broken_class = {}  # class -> selected tests that did not run because setUpClass failed
    for test_id in selected:
        if test_id not in by_bare:
            cls = test_id.rsplit(".", 1)[0]
            if cls in broken_classes:
                in_broken_class.setdefault(cls, []).append(test_id)
            else:
                not_run.append(test_id)
            continue
        full_id, r = by_bare[test_id]
        if r["status"] in PASS:
            passed += 1
        elif r["status"] in SKIP:
            skipped += 1
            skips.append((full_id, r["details"].get("reason", "").strip()))
        else:
            failures.append((full_id, r))
    # Results for tests nobody selected (should not happen) are reported, not counted.
    extra = sorted(i for b, (i, _) in by_bare.items() if b not in set(selected))

    for full_id, r in list(fixtures.items()) + failures:
        print(f"\n======== FAIL ({r['status']}): {full_id}")
        m = FIXTURE.match(full_id)
        if m and m.group(1) == "setUpClass" and m.group(2) in in_broken_class:
            print(f"    so these {len(in_broken_class[m.group(2)])} selected test(s) did not run:")
            for test_id in in_broken_class[m.group(2)]:
                print("      " + test_id)
        details = r["details"]
        if r["status"] == "inprogress":
            details = dict(details, note="still running when Tempest stopped")
        text = details.get("traceback") or "\n".join(
            f"{k}:\n{v}" for k, v in details.items() if v.strip()) or "(no traceback recorded)"
        print(show(text))
    if not_run:
        print(f"\n======== {len(not_run)} selected test(s) did not run ({a.why_not_run}):")
        for test_id in not_run:
            print("    " + test_id)
    if skips:
        print(f"\n-------- {len(skips)} skipped:")
        for full_id, reason in skips:
            print(f"    {bare(full_id)}: {reason or '(no reason given)'}")
    if extra:
        print(f"\n-------- {len(extra)} result(s) for tests not selected (not counted):")
        for test_id in extra:
            print("    " + test_id)

    # A setUpClass failure is counted through its class's tests; other fixture failures once.
    lone_fixtures = [i for i in fixtures
                     if not (FIXTURE.match(i).group(1) == "setUpClass"
                             and FIXTURE.match(i).group(2) in in_broken_class)]
    failed = (len(failures) + len(not_run) + len(lone_fixtures)
              + sum(len(v) for v in in_broken_class.values()))
    print()
    print(f"tempest: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(0 if failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
