#!/usr/bin/env python3
"""Print one line per finished test from a subunit v2 stream on stdin, as results arrive:

    {0} tempest.api.identity.v3.test_tokens.TokensV3Test.test_create_token [0.41s] ... ok

Run with the Tempest venv's python. Text that is not subunit is passed through. Always
exits 0: the verdict is subunit_summary.py's. (stestr's own subunit_trace would do, but its
`python -m stestr.subunit_trace` entry point is broken in stestr 4.2.1.)
"""

import sys

import subunit
import testtools

WORDS = {"success": "ok", "fail": "FAILED", "skip": "SKIPPED", "xfail": "xfail",
         "uxsuccess": "UNEXPECTED SUCCESS"}


def on_test(test):
    status = test["status"]
    if status in (None, "exists", "inprogress"):
        return
    worker = next((t[len("worker-"):] for t in test.get("tags") or () if t.startswith("worker-")),
                  "-")
    start, stop = (test.get("timestamps") or (None, None))[:2]
    took = f" [{(stop - start).total_seconds():.2f}s]" if start and stop else ""
    line = f"{{{worker}}} {test['id'].split('[', 1)[0]}{took} ... {WORDS.get(status, status)}"
    if status == "skip":
        reason = test.get("details", {}).get("reason")
        if reason is not None:
            line += ": " + "".join(reason.iter_text()).strip()
    print(line, flush=True)


def main():
    counts = {}

    def count(test):
        if test["status"] not in (None, "exists", "inprogress"):
            counts[test["status"]] = counts.get(test["status"], 0) + 1
        on_test(test)

    class PassThrough(testtools.StreamResult):
        """Echo what was not subunit (the parser files it as 'stdout' with no test id)."""

        def status(self, test_id=None, file_name=None, file_bytes=None, **kw):
            if test_id is None and file_name == "stdout" and file_bytes:
                sys.stdout.write(file_bytes.decode("utf-8", "replace"))
                sys.stdout.flush()

    stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout")
    result = testtools.CopyStreamResult([testtools.StreamToDict(count), PassThrough()])
    result.startTestRun()
    try:
        stream.run(result)
    finally:
        result.stopTestRun()
    if counts:
        print("ran " + ", ".join(f"{n} {WORDS.get(s, s)}" for s, n in sorted(counts.items())),
              flush=True)


if __name__ == "__main__":
    main()
