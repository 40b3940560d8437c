"""mypy on portal/ against a committed baseline that may only shrink.

The baseline (tools/mypy-baseline.txt) lists the errors the code had when type checking began,
one per line as "path: [code] message" (no line numbers, so unrelated edits do not move it).
A new error fails; so does a baseline entry that no longer occurs, until the baseline is written
again with `make mypy-baseline` and the smaller file is committed.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "tools" / "mypy-baseline.txt"
ERROR = re.compile(r"^(?P<path>[^:]+):\d+: error: (?P<message>.*)$")


def current_errors() -> Counter[str]:
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml")])
    if status not in (0, 1):
        raise SystemExit(f"mypy could not run:\n{stdout}{stderr}")
    found: Counter[str] = Counter()
    for line in stdout.splitlines():
        match = ERROR.match(line)
        if match:
            found[f"{match['path']}: {match['message']}"] += 1
    return found


def baseline() -> Counter[str]:
    lines = BASELINE.read_text().splitlines() if BASELINE.exists() else []
    return Counter(line for line in lines if line and not line.startswith("#"))


def main() -> int:
    now = current_errors()
    accepted = baseline()
    new, gone = now - accepted, accepted - now
    if "--write" in sys.argv and new and BASELINE.exists():
        for line in sorted(new.elements()):
            print(f"new mypy error: {line}")
        print("the baseline may only shrink: fix the new errors instead of accepting them")
        return 1
    if "--write" in sys.argv:
        BASELINE.write_text("# mypy errors accepted when type checking began; this file may only shrink (tools/typecheck.py)\n"
                            + "".join(f"{line}\n" for line in sorted(now.elements())))
        print(f"mypy baseline written: {sum(now.values())} errors")
        return 0
    for line in sorted(new.elements()):
        print(f"new mypy error: {line}")
    for line in sorted(gone.elements()):
        print(f"fixed (remove it from the baseline: make mypy-baseline): {line}")
    print(f"mypy: {sum(now.values())} errors, baseline {sum(accepted.values())}, new {sum(new.values())}, fixed {sum(gone.values())}")
    return 1 if new or gone else 0


if __name__ == "__main__":
    sys.exit(main())
