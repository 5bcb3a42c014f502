# SPDX-License-Identifier: MIT
"""TAP-style checks shared by the Python test scripts: one line per check
("ok N - what" or "not ok N - what detail"), then a count, and the exit
status the script should return."""


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok %d - %s" % (self.passed + self.failed, what), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s %s" % (self.passed + self.failed, what, detail), flush=True)

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


_default = Checks()
check = _default.check
summary = _default.summary


def failed():
    """How many checks of this script failed so far."""
    return _default.failed


def cli_docs():
    """The text of docs/cli.md, where each verb's --help must stand as it is."""
    import os
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "cli.md")) as f:
        return f.read()
