"""``alejandria new-plugin source NAME`` makes a package that installs, lints and passes its
own tests (the source contract included), as a plugin author outside this repository gets it.

The package is generated into ``tmp_path`` and installed in editable mode into a throw-away
venv (``plugin_venv``); its tests run there in a subprocess, on an embedded Postgres of their
own. The command's own behaviour (names, refusals) is tested in alejandria-core's tests.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from alejandria.testing.contracts import SourceContract

from .plugin_venv import make_venv

REPO = Path(__file__).resolve().parents[1]
#: What the contract class runs; every check must pass, none be skipped.
CONTRACT_CHECKS = {name for name in dir(SourceContract) if name.startswith("test_")}

def run(args: list[str | Path], cwd: Path, env: dict[str, str],
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.slow
def test_a_generated_source_plugin_passes_its_own_tests(tmp_path: Path) -> None:
    plugin_env = make_venv(tmp_path / "venv")
    env = plugin_env.env(ALEJANDRIA_DATA_DIR=str(tmp_path / "data"))
    made = run(["alejandria", "new-plugin", "source", "my-feed"], tmp_path, env)
    assert made.returncode == 0, made.stderr
    package = tmp_path / "alejandria-my-feed"
    plugin_env.install_editable(package)

    listed = run(["alejandria", "plugins", "--json"], package, env)
    # mypy (12 s with a cold cache) alongside the tests (15 s, mostly the embedded Postgres)
    with subprocess.Popen(["mypy"], cwd=package, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          stdin=subprocess.DEVNULL) as typecheck:
        report = tmp_path / "report.xml"
        tests = run([plugin_env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                     f"--junit-xml={report}"], package, env, timeout=300)
        typed = typecheck.communicate(timeout=300)[0]
    lint = run(["ruff", "check", "--no-cache", "."], package, env)
    # the repository's own rules too (they may not be the generated package's for long)
    repo_lint = run(["ruff", "check", "--no-cache", "--config", REPO / "pyproject.toml", "."],
                    package, env)

    assert listed.returncode == 0, listed.stdout + listed.stderr
    plugins = {plugin["name"]: plugin for plugin in json.loads(listed.stdout)}
    assert plugins["my-feed"]["package"] == "alejandria-my-feed"
    assert plugins["my-feed"]["error"] is None
    assert tests.returncode == 0, tests.stdout + tests.stderr
    ran = {case.get("name"): case for case in ET.parse(report).iter("testcase")
           if case.get("classname", "").endswith("TestMyFeedContract")}
    missing = sorted(CONTRACT_CHECKS - set(ran))
    assert missing == [], "contract checks that did not run"
    not_passed = [name for name, case in ran.items()
                  if any(child.tag in ("skipped", "failure", "error") for child in case)]
    assert not_passed == [], "contract checks skipped or failed"
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert typecheck.returncode == 0, typed
    assert repo_lint.returncode == 0, repo_lint.stdout + repo_lint.stderr
