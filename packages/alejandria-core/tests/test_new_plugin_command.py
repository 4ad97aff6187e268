"""``alejandria new-plugin KIND NAME``: names, refusals and what a new source package holds.

That the generated package installs and passes its own tests is checked end to end by
``tests/test_new_plugin.py`` at the top of the repository (slow: a venv, a Postgres).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from alejandria import __version__
from alejandria.cli.main import cli
from alejandria.cli.new_plugin import PluginNames, render

FILES = {
    ".github/workflows/test.yml",
    ".gitignore",
    "README.md",
    "pyproject.toml",
    "src/alejandria_my_feed/__init__.py",
    "src/alejandria_my_feed/plugin.py",
    "src/alejandria_my_feed/py.typed",
    "src/alejandria_my_feed/source.py",
    "tests/conftest.py",
    "tests/test_contract.py",
    "tests/test_source.py",
}


def new_plugin(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["new-plugin", *map(str, args)], catch_exceptions=False)


def files_under(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def test_a_source_package_is_made_in_alejandria_name(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = new_plugin("source", "my-feed")

    assert result.exit_code == 0, result.output
    package = tmp_path / "alejandria-my-feed"
    assert files_under(package) == FILES
    assert "pip install -e '.[test]'" in result.output
    project = tomllib.loads((package / "pyproject.toml").read_text())
    assert project["project"]["name"] == "alejandria-my-feed"
    assert project["project"]["dependencies"] == [f"alejandria-core>={__version__}"]
    assert project["project"]["optional-dependencies"]["test"] == ["pytest>=8"]
    assert project["project"]["entry-points"]["alejandria"] == {
        "my-feed": "alejandria_my_feed.plugin"}
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "src/alejandria_my_feed"]
    plugin = (package / "src/alejandria_my_feed/plugin.py").read_text()
    assert 'name="my-feed"' in plugin
    assert "from alejandria_my_feed.source import MyFeedSource" in plugin


def test_every_template_renders_to_valid_files(tmp_path: Path) -> None:
    files = render("source", PluginNames.of("feed", "1.2.3"))

    for path, text in files.items():
        if path.suffix == ".py":
            compile(text, str(path), "exec")  # SyntaxError names the file and line
        elif path.suffix == ".toml":
            tomllib.loads(text)
        assert "${" not in text.replace("${{", ""), f"{path}: a placeholder left"
    workflow = files[Path(".github/workflows/test.yml")]
    assert "python-version: ${{ matrix.python-version }}" in workflow
    assert '"$ALEJANDRIA_CORE"' in workflow


def test_dir_names_the_package_folder_and_may_be_empty(tmp_path: Path) -> None:
    target = tmp_path / "work" / "feed-plugin"
    target.mkdir(parents=True)

    result = new_plugin("source", "feed", "--dir", target)

    assert result.exit_code == 0, result.output
    assert "src/alejandria_feed/source.py" in files_under(target)


def test_a_folder_with_files_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")

    result = new_plugin("source", "feed", "--dir", tmp_path)

    assert result.exit_code == 2
    assert "already exists and is not empty" in result.output
    assert files_under(tmp_path) == {"notes.txt"}


@pytest.mark.parametrize(("name", "says"), [
    ("Feed", "not a plugin name"),
    ("my feed", "not a plugin name"),
    ("9lives", "not a plugin name"),
    ("feed--x", "not a plugin name"),
    ("feed-", "not a plugin name"),
    ("feed.x", "not a plugin name"),
    ("alejandria-feed", "leave out the alejandria- prefix"),
    ("core", "alejandria-core's own plugin"),
    ("x" * 41, "longer than 40"),
])
def test_a_bad_name_is_refused(tmp_path: Path, name: str, says: str) -> None:
    result = new_plugin("source", name, "--dir", tmp_path / "out")

    assert result.exit_code == 2
    assert "Invalid value for NAME" in result.output and says in result.output
    assert not (tmp_path / "out").exists()


def test_only_sources_can_be_made_so_far(tmp_path: Path) -> None:
    result = new_plugin("processor", "thumbs", "--dir", tmp_path / "out")

    assert result.exit_code == 2
    assert "not yet: only 'source' plugins" in result.output
