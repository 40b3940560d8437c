"""The README's commands run as written on a fresh clone: every line of its shell blocks is a
`make` target of the Makefile or `.venv/bin/portal` with arguments the command accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from portal.cli import parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)
LINES = [line.split("#", 1)[0].strip() for block in BLOCKS for line in block.splitlines()]
COMMANDS = [line for line in LINES if line]
MAKE_TARGETS = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_the_readme_has_commands():
    assert any(c.startswith("make ") for c in COMMANDS) and any(c.startswith(".venv/bin/portal ") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_readme_command_runs_as_written(command):
    words = shlex.split(command)
    if words[0] == "make":
        assert words[1] in MAKE_TARGETS, f"{command!r}: the Makefile has no target {words[1]!r}"
        return
    assert words[0] == ".venv/bin/portal", f"{command!r}: not runnable as written (portal is not on PATH)"
    parser().parse_args(words[1:])  # argparse exits (a test failure) on arguments the command refuses


def test_inline_commands_name_the_runnable_path():
    bare = re.findall(r"`(portal (?:serve|migrate|demo|create-user|dunning)[^`]*)`", README)
    assert not bare, f"write .venv/bin/portal: {bare}"
