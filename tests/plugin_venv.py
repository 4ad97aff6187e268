"""A throw-away virtual environment to install a plugin into, without touching the one the
tests run in, and without the network.

The new venv has no packages of its own: a ``.pth`` file adds this interpreter's
site-packages (``sysconfig``'s ``purelib``, processed as a site dir, so core's own editable
install works there too), which brings alejandria-core, pytest and the other installed
plugins. ``install_editable`` then installs a plugin in editable mode into the new venv only:

- with pip (``--no-deps --no-build-isolation --no-index``) when hatchling, the plugins' build
  backend, and ``editables`` are importable here: exactly what ``pip install -e`` makes;
- else as pip's editable install would leave it, written by hand from ``pyproject.toml``: a
  ``.pth`` file naming the ``src`` folder, and a ``.dist-info`` with the name, the version and
  the entry points (what ``importlib.metadata``, and so Alejandria, reads). ``./dev setup``
  does not install hatchling (pip builds in an isolated environment it downloads), and the
  tests must not download it.

``bin/`` gets an ``alejandria`` script (core's console script, run by the new venv's Python)
and a ``pip`` that refuses to run, so that nothing reaches the outer venv's ``pip`` by
``PATH``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import venv
from dataclasses import dataclass
from pathlib import Path

#: Variables of the outer environment the commands must not see (the developer's archive, the
#: tests' own database) except the one pointing the test fixtures at a server of one's own.
KEEP = {"ALEJANDRIA_TEST_DATABASE_URL"}
#: What pip needs to make an editable install of a hatchling project without a download.
BUILD_BACKEND = ("hatchling", "editables")


@dataclass(frozen=True)
class PluginVenv:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        return self.bin / ("python.exe" if os.name == "nt" else "python")

    @property
    def site_packages(self) -> Path:
        return Path(sysconfig.get_path("purelib", vars={"base": str(self.root),
                                                         "platbase": str(self.root)}))

    def env(self, **extra: str) -> dict[str, str]:
        """This process's environment for a command in the venv: its ``bin`` first on
        ``PATH`` (then this interpreter's, for ruff and mypy), no ``ALEJANDRIA_*`` setting but
        ``KEEP``, no ``PYTHONPATH``; the embedded Postgres stops with its last command."""
        env = {name: value for name, value in os.environ.items()
               if (not name.startswith("ALEJANDRIA_") or name in KEEP)
               and name not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        outer_bin = Path(sys.executable).parent
        env["PATH"] = os.pathsep.join([str(self.bin), str(outer_bin), env.get("PATH", "")])
        env["VIRTUAL_ENV"] = str(self.root)
        env["ALEJANDRIA_EMBEDDED_LINGER_S"] = "0"
        env.update(extra)
        return env

    def install_editable(self, project: Path) -> None:
        """``pip install -e project`` into this venv, offline (see the module docstring)."""
        project = project.resolve()
        if all(importlib.util.find_spec(name) for name in BUILD_BACKEND):
            subprocess.run([str(self.python), "-m", "pip", "install", "--quiet", "--no-deps",
                            "--no-build-isolation", "--no-index", "-e", str(project)],
                           check=True, env=self.env(), stdin=subprocess.DEVNULL)
            return
        _write_editable(project, self.site_packages)


def make_venv(root: Path) -> PluginVenv:
    """A new venv at ``root`` that sees this interpreter's packages (see the docstring)."""
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root)
    made = PluginVenv(root)
    outer = sysconfig.get_paths()["purelib"]
    made.site_packages.mkdir(parents=True, exist_ok=True)
    (made.site_packages / "_outer_site_packages.pth").write_text(
        f"import site; site.addsitedir({outer!r})\n", encoding="utf-8")
    _script(made, "alejandria", "import sys\nfrom alejandria.cli.main import main\n\n"
                                "sys.exit(main())\n")
    _script(made, "pip", "import sys\n\nsys.exit('pip is not run in this test venv: it "
                         "would install into the outer one')\n")
    return made


def _script(made: PluginVenv, name: str, body: str) -> None:
    path = made.bin / name
    path.write_text(f"#!{made.python}\n{body}", encoding="utf-8")
    path.chmod(0o755)


def _write_editable(project: Path, site_packages: Path) -> None:
    """What an editable install of a hatchling project with a ``src`` layout leaves behind."""
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    about = meta["project"]
    name, version = about["name"], about["version"]
    packages = meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    roots = sorted({str((project / package).parent) for package in packages})
    dist_name = re.sub(r"[-_.]+", "_", name).lower()
    (site_packages / f"_editable_{dist_name}.pth").write_text(
        "".join(f"{root}\n" for root in roots), encoding="utf-8")
    info = site_packages / f"{dist_name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                                   encoding="utf-8")
    groups = {**about.get("entry-points", {})}
    if about.get("scripts"):
        groups["console_scripts"] = about["scripts"]
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items())
                + "\n" for group, points in groups.items()), encoding="utf-8")
    (info / "INSTALLER").write_text("alejandria-tests\n", encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
