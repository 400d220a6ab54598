#!/usr/bin/env python3
"""Select lines of a Tempest test list and turn them into a `tempest run --include-list` file.

Each list line is a test id with Tempest's attribute tag, e.g.
    tempest.api.identity.v3.test_tokens.TokensV3Test.test_create_token[id-6f8e...]
A line is kept when any of the --regex / --scope regexes finds a match in it (re.search, on the
whole line, tags included; no regex keeps every line). Blank lines and lines starting with '#'
are skipped.

Tempest (stestr) reads each line of an include list as a regex and keeps a test whose id it
finds anywhere (re.search). So each kept id is written with its tag stripped and its regex
characters (the dots) escaped, anchored at the start, and closed by `(\\[|$)` so that
`...test_create_token` does not also select `...test_create_token_with_x`.

Writes:
  --out FILE  the include list, one regex per line
  --ids FILE  the kept test ids without their tags, one per line (for the summary)
Prints the number of kept tests on stdout.
"""

import argparse
import re
import sys


def read_regexes(path):
    with open(path, encoding="utf-8") as f:
        return [
            line.strip()
            for line in f
            if line.strip() and not line.lstrip().startswith("#")
        ]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--list", required=True, help="test list, one test id per line")
    p.add_argument("--regex", action="append", default=[], help="keep lines matching R")
    p.add_argument("--scope", action="append", default=[],
                   help="file of regexes, one per line; keep lines matching any")
    p.add_argument("--out", required=True)
    p.add_argument("--ids", required=True)
    a = p.parse_args()

    patterns = list(a.regex)
    for path in a.scope:
        patterns.extend(read_regexes(path))
    try:
        compiled = [re.compile(r) for r in patterns]
    except re.error as e:
        sys.exit(f"select_tests: bad regex: {e}")

    seen = set()
    ids = []
    with open(a.list, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if compiled and not any(r.search(line) for r in compiled):
                continue
            test_id = line.split("[", 1)[0].strip()
            if test_id not in seen:
                seen.add(test_id)
                ids.append(test_id)

    with open(a.out, "w", encoding="utf-8") as f:
        for test_id in ids:
            f.write("^" + re.escape(test_id) + r"(\[|$)" + "\n")
    with open(a.ids, "w", encoding="utf-8") as f:
        for test_id in ids:
            f.write(test_id + "\n")
    print(len(ids))


if __name__ == "__main__":
    main()
