"""docs/tutorial-source-plugin.md runs as written: every ``$ command`` of its ``console``
blocks, in order, exits 0 and prints what the doc shows.

The commands run in a throw-away venv (``plugin_venv``: this interpreter's packages, plus what
the tutorial installs) from a scratch folder that links ``examples``, ``packages`` and the
repository's ``pyproject.toml``, so the repository gets no ``notes/`` folder; the tutorial's
``export ALEJANDRIA_DATA_DIR=$(mktemp -d)`` makes its archive in that scratch folder
(``TMPDIR``). Each command runs in ``bash``; what it exports is kept for the next one.
``pip install -e`` is done by ``plugin_venv``, offline. Output is compared with the doc's with
whitespace collapsed (the doc wraps long lines); the table ``alejandria plugins`` draws on a
terminal, and pytest's timings, are checked for their content only.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .plugin_venv import PluginVenv, make_venv

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = REPO / "docs" / "tutorial-source-plugin.md"
#: Commands the doc shows that need what a test cannot provide, and why. Each must still be in
#: the doc (so this list cannot go stale).
NOT_RUN = {
    "ALEJANDRIA_TEST_DATABASE_URL=postgresql://alejandria:secret@localhost:5432/postgres "
    "python -m pytest examples/plugin-notes/tests -q": "needs a Postgres server of your own",
}
PIP_INSTALL = re.compile(r"pip install -e (?P<path>[^\[]+)(?:\[(?P<extras>[\w,-]+)\])?")


@dataclass
class Command:
    text: str  #: continuation lines joined
    output: list[str] = field(default_factory=list)  #: what the doc shows it printing


def console_commands(markdown: str) -> list[Command]:
    """The ``$ `` lines of every ``console`` block, with the output lines that follow each
    (up to a blank line or the next command)."""
    commands: list[Command] = []
    block: list[str] | None = None
    for line in markdown.splitlines():
        if block is None:
            if line.strip() == "```console":
                block = []
            continue
        if line.strip() == "```":
            commands.extend(_block_commands(block))
            block = None
        else:
            block.append(line)
    return commands


def _block_commands(lines: list[str]) -> list[Command]:
    commands: list[Command] = []
    current: Command | None = None
    continued = False
    for line in lines:
        if continued and current is not None:
            current.text += " " + line.strip().removesuffix("\\").strip()
            continued = line.endswith("\\")
        elif line.startswith("$ "):
            current = Command(line[2:].removesuffix("\\").strip())
            commands.append(current)
            continued = line.endswith("\\")
        elif not line.strip():
            current = None
        elif current is not None:
            current.output.append(line)
    return commands


def squeezed(text: str) -> str:
    return " ".join(text.split())


class Shell:
    """Runs the tutorial's commands one after another, as a user's shell would."""

    def __init__(self, plugin_env: PluginVenv, cwd: Path, scratch: Path) -> None:
        self.venv = plugin_env
        self.cwd = cwd
        # ./dev setup installs no local embedder, so the doc's syncs embed nothing; this venv
        # sees the test venv's embedders (the embed extra), so none is used instead
        self.env = plugin_env.env(TMPDIR=str(scratch), PYTHONDONTWRITEBYTECODE="1",
                                  ALEJANDRIA_EMBEDDER="none")
        self._saved = scratch / "env"

    def run(self, command: str) -> tuple[int, str]:
        """Exit status and output (stdout and stderr together)."""
        installing = PIP_INSTALL.fullmatch(" ".join(shlex.split(command)))
        if installing:
            self.venv.install_editable(self.cwd / installing["path"])
            return 0, ""
        assert not command.startswith("pip "), f"this test cannot run {command!r} offline"
        script = f"{command}\n__status=$?\nenv -0 > {shlex.quote(str(self._saved))}\n" \
                 "exit $__status\n"
        done = subprocess.run(["bash", "-c", script], cwd=self.cwd, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300, stdin=subprocess.DEVNULL)
        if self._saved.exists():  # what the command exported, for the next ones
            pairs = self._saved.read_text().split("\0")
            self.env = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        return done.returncode, done.stdout


def test_the_tutorial_parses_into_commands() -> None:
    commands = [command.text for command in console_commands(TUTORIAL.read_text())]

    assert commands[0].startswith("pip install -e ")
    assert "python -m pytest examples/plugin-notes/tests -q" in commands
    assert set(NOT_RUN) <= set(commands), "NOT_RUN names a command the tutorial no longer has"
    assert any(command.startswith("MYPYPATH=") and " mypy --strict " in command
               for command in commands)


def test_what_the_tutorial_installs_brings_pytest() -> None:
    """``./dev setup`` makes a venv without pytest, and the venv of the test below sees the
    test run's pytest: so check here that the tutorial's install brings pytest (an extra)."""
    installs = [PIP_INSTALL.fullmatch(" ".join(shlex.split(command.text)))
                for command in console_commands(TUTORIAL.read_text())]
    brought = []
    for found in filter(None, installs):
        project = tomllib.loads((REPO / found["path"] / "pyproject.toml").read_text())
        extras = project["project"].get("optional-dependencies", {})
        brought += [requirement for extra in (found["extras"] or "").split(",") if extra
                    for requirement in extras[extra]]
    assert any(re.match(r"pytest\b", requirement) for requirement in brought), brought


@pytest.mark.slow
def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for name in ("examples", "packages", "pyproject.toml"):
        (workspace / name).symlink_to(REPO / name)
    # TMPDIR: short, for the Unix socket of the test fixtures' embedded Postgres (at most 107
    # bytes), which tmp_path can be too deep for
    with tempfile.TemporaryDirectory(prefix="tutorial-") as scratch:
        shell = Shell(make_venv(tmp_path / "venv"), workspace, Path(scratch))
        for command in console_commands(TUTORIAL.read_text()):
            if command.text in NOT_RUN:
                continue
            status, output = shell.run(command.text)
            assert status == 0, f"$ {command.text}\n{output}"
            check_output(command, output)


def check_output(command: Command, output: str) -> None:
    shown = "\n".join(command.output)
    where = f"$ {command.text}\nprinted:\n{output}\nthe doc shows:\n{shown}"
    if not command.output or command.text.startswith("pip install"):
        return
    if command.text == "alejandria plugins":  # piped, it prints tab-separated lines
        rows = {line.split("\t")[0]: line.split("\t") for line in output.splitlines()}
        assert rows["notes"][1:3] == ["alejandria-notes", "0.1.0"], where
        assert rows["notes"][-1] == "ok", where
        assert "│ notes  │ alejandria-notes" in shown, where
        return
    if "pytest" in command.text:
        counts = re.findall(r"(\d+ passed)", output), re.findall(r"(\d+ passed)", shown)
        assert counts[0] == counts[1], where
        return
    assert squeezed(output) == squeezed(shown), where
