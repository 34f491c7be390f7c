"""Sums a Meson test run into one line: 'N passed, N failed, N skipped'.

Catch2 executables leave a tally of their test cases (tests/main.cpp); other
tests (scripts, GPU programs that exit 77) count as one each. A Catch2
executable that Meson saw fail but whose tally shows no failure (a crash, a
timeout) adds one failure, so nothing is lost."""
import json
import pathlib
import sys

build = pathlib.Path(sys.argv[1])
log = build / "meson-logs" / "testlog.json"
if not log.exists():
    print("0 passed, 1 failed, 0 skipped  (no test log: the build failed?)")
    sys.exit(1)

passed = failed = skipped = 0
for line in log.read_text().splitlines():
    if not line.strip():
        continue
    t = json.loads(line)
    result = t.get("result", "")
    tally_path = build / "tests" / "tally" / f"{t['name']}.txt"
    ok = result in ("OK", "EXPECTEDFAIL")
    if tally_path.exists():
        tally = dict(l.split() for l in tally_path.read_text().splitlines() if l.strip())
        p, f, s = int(tally["passed"]), int(tally["failed"]), int(tally["skipped"])
        if not ok and result != "SKIP" and f == 0:
            f = 1
        passed, failed, skipped = passed + p, failed + f, skipped + s
    elif ok:
        passed += 1
    elif result == "SKIP":
        skipped += 1
    else:
        failed += 1

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
