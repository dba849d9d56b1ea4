"""What every e2e test module shares: where the build is, and how it runs under ctest.

ctest passes POSTERN_BIN_DIR (build/bin) and POSTERN_SOURCE_DIR; run by hand,
they default to <source>/build/bin and the source tree holding this file.
"""

from __future__ import annotations

import os
import shutil
import sys
import unittest

SOURCE_DIR = os.environ.get("POSTERN_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN_DIR = os.environ.get("POSTERN_BIN_DIR") or os.path.join(SOURCE_DIR, "build", "bin")

# ctest's SKIP_RETURN_CODE for these tests.
EXIT_SKIPPED = 77
REQUIRED_TOOLS = ("postfix", "postqueue", "swaks", "smtp-source", "smtp-sink")


def missing_prerequisites() -> list[str]:
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (a private Postfix instance starts as root)")
    problems += [f"{tool} not installed (apt-get install postfix swaks)"
                 for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    return problems


def main() -> None:
    """unittest.main, but exits 77 (skipped) when nothing could run.

    That is: the machine lacks root or the tools, or every test skipped itself
    (e.g. no milter binary built yet), so ctest reports "Skipped" instead of a
    pass that tested nothing. With POSTERN_REQUIRE_ALL=1 (ci/test sets it) any
    skip is a failure: CI has every tool, so a skip there hides a problem.
    """
    require_all = os.environ.get("POSTERN_REQUIRE_ALL") == "1"
    problems = missing_prerequisites()
    if problems:
        print(("FAILED: " if require_all else "SKIPPED: ") + "; ".join(problems), file=sys.stderr)
        sys.exit(1 if require_all else EXIT_SKIPPED)
    prog = unittest.main(exit=False, verbosity=2)
    result = prog.result
    if not result.wasSuccessful():
        sys.exit(1)
    if require_all and result.skipped:
        print("FAILED: POSTERN_REQUIRE_ALL is set and tests skipped: "
              + "; ".join(reason for _, reason in result.skipped), file=sys.stderr)
        sys.exit(1)
    if result.testsRun and len(result.skipped) == result.testsRun:
        print("SKIPPED: every test in this file skipped itself (see reasons above)", file=sys.stderr)
        sys.exit(EXIT_SKIPPED)
    sys.exit(0)
