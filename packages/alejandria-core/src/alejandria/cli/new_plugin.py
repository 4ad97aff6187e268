"""``alejandria new-plugin KIND NAME``: a ready pip package for a new plugin, from templates.

The templates are package data of alejandria-core (``alejandria/templates/KIND/``), one file
each, rendered with ``string.Template`` (``${name}``, ``${module}``, ...; ``$$`` is a dollar
sign). Their paths are rewritten too: ``__module__`` becomes the package's module, a ``dot-``
prefix a dot (``dot-gitignore``: no hidden file in core's wheel) and the ``.tmpl`` suffix,
which keeps ruff, mypy and pytest off the templates, is dropped.

Everything is rendered before anything is written, so a failure leaves no half package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alejandria.cli.output import echo

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

#: The kinds of plugin there are templates for, and what each makes.
KINDS = {"source": "a source: `alejandria sync NAME URL...` archives what it fetches"}
#: A plugin name: lowercase letters and digits, words joined by single hyphens or underscores.
NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
MAX_NAME = 40
SUFFIX = ".tmpl"


@dataclass(frozen=True)
class PluginNames:
    """Every name the templates use, derived from the plugin name (``my-feed``)."""

    name: str  #: the plugin and source name: ``my-feed``
    package: str  #: the pip package: ``alejandria-my-feed``
    module: str  #: the import package: ``alejandria_my_feed``
    display: str  #: how messages name the site: ``My Feed``
    class_prefix: str  #: ``MyFeed`` (``MyFeedSource``, ``MyFeedCredentials``)
    core_version: str  #: the alejandria-core the package requires at least

    @classmethod
    def of(cls, name: str, core_version: str) -> PluginNames:
        words = re.split(r"[-_]", name)
        return cls(name=name, package=f"alejandria-{name}",
                   module="alejandria_" + name.replace("-", "_"),
                   display=" ".join(word.capitalize() for word in words),
                   class_prefix="".join(word.capitalize() for word in words),
                   core_version=core_version)

    def mapping(self, kind: str) -> dict[str, str]:
        values = {field: getattr(self, field) for field in self.__dataclass_fields__}
        values["class_name"] = f"{self.class_prefix}{kind.capitalize()}"
        return values


def check_name(name: str) -> str:
    """``name`` if it can name a plugin, else why not (``click.BadParameter``)."""
    why = _bad_name(name)
    if why:
        raise click.BadParameter(why, param_hint="NAME")
    return name


def _bad_name(name: str) -> str | None:
    if name.startswith("alejandria"):
        rest = name.removeprefix("alejandria").lstrip("-_") or "feed"
        return (f"leave out the alejandria- prefix: the package is called alejandria-NAME "
                f"(try {rest!r})")
    if not NAME.fullmatch(name):
        return (f"{name!r} is not a plugin name: lowercase letters and digits, starting with a "
                "letter, words joined by single hyphens or underscores (feed, my-feed)")
    if len(name) > MAX_NAME:
        return f"{name!r} is longer than {MAX_NAME} characters"
    if name == "core":
        return "'core' is the name of alejandria-core's own plugin; pick another name"
    return None


def render(kind: str, names: PluginNames) -> dict[Path, str]:
    """The files of a new ``kind`` plugin: relative path -> text."""
    from importlib import resources
    from string import Template

    root = resources.files("alejandria") / "templates" / kind
    values = names.mapping(kind)
    files: dict[Path, str] = {}
    for relative, template in _templates(root, Path()):
        target = Path(*(_part(part, names.module) for part in relative.parts))
        files[target] = Template(template.read_text(encoding="utf-8")).substitute(values)
    return files


def _templates(folder: Traversable, relative: Path) -> list[tuple[Path, Traversable]]:
    found: list[tuple[Path, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.is_dir():
            found.extend(_templates(entry, relative / entry.name))
        elif entry.name.endswith(SUFFIX):
            found.append((relative / entry.name, entry))
    return found


def _part(part: str, module: str) -> str:
    part = part.removesuffix(SUFFIX).replace("__module__", module)
    return "." + part.removeprefix("dot-") if part.startswith("dot-") else part


def write(directory: Path, files: dict[Path, str]) -> None:
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")


def _core_version() -> str:
    from alejandria import __version__

    return __version__


@click.command("new-plugin")
@click.argument("kind", metavar="KIND")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Where to create the package (default: ./alejandria-NAME). It must not "
                   "exist yet, or be empty.")
def new_plugin(kind: str, name: str, directory: Path | None) -> None:
    """Create a ready pip package for a new plugin, outside this repository.

    KIND is the kind of plugin; only `source` for now. NAME is the plugin's name, which is also
    the source's (`alejandria sync NAME ...`): lowercase letters, digits and single hyphens or
    underscores. `alejandria new-plugin source feed` creates ./alejandria-feed: the package
    alejandria-feed (module alejandria_feed) with a working source that reads a JSON document
    over HTTP, its tests (a local HTTP server, a real database, the source contract), a CI
    workflow and a README that says how to install, run and test it.
    """
    if kind not in KINDS:
        raise click.BadParameter(f"not yet: only {', '.join(map(repr, KINDS))} plugins can be "
                                 f"generated (not {kind!r})", param_hint="KIND")
    names = PluginNames.of(check_name(name), _core_version())
    target = directory if directory is not None else Path(names.package)
    if target.exists() and not target.is_dir():
        raise click.UsageError(f"{target} is a file; pass another --dir")
    if target.is_dir() and any(target.iterdir()):
        raise click.UsageError(f"{target} already exists and is not empty: nothing written; "
                               "pass another --dir, or remove it")
    files = render(kind, names)
    write(target, files)
    echo(f"Created {target}: the package {names.package} (module {names.module}), a {kind} "
         f"plugin called {names.name!r}")
    for relative in sorted(files):
        echo(f"  {relative.as_posix()}")
    from importlib import metadata

    taken = {entry.name for entry in metadata.entry_points(group="alejandria")}
    if names.name in taken:
        echo(f"note: an installed plugin is already called {names.name!r}: both cannot be "
             "installed together", err=True)
    echo("Next, with alejandria-core installed in the environment:")
    echo(f"  cd {target}")
    echo("  pip install -e '.[test]'    # then `alejandria plugins` lists it")
    echo("  python -m pytest            # its tests, on an embedded Postgres")


COMMANDS = [new_plugin]
