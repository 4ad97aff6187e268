"""nox sessions for working on one package at a time (``./dev test`` runs everything).

    nox -s tests            # every package's tests, each in its own virtualenv
    nox -s "tests(package='alejandria-source-pdf')"
    nox -s lint typecheck
"""

from __future__ import annotations

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests"]

PACKAGES = ["alejandria-core", "alejandria-source-pdf", "alejandria-source-patreon",
            "alejandria-source-gumroad", "alejandria-search-tantivy",
            "alejandria-web"]
DEV = "requirements-dev.txt"


def install_all(session: nox.Session) -> None:
    session.install(*(arg for pkg in PACKAGES for arg in ("-e", f"packages/{pkg}")))
    session.install("-r", DEV)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    install_all(session)
    session.run("mypy")
    session.run("lint-imports", env={"PYTHONPATH": "examples/plugin-notes/src"})


@nox.session
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    install_all(session)
    session.run("pytest", f"packages/{package}/tests", *session.posargs)


@nox.session(name="tests-cross")
def tests_cross(session: nox.Session) -> None:
    """Cross-package behaviour (tests/ at the top)."""
    install_all(session)
    session.run("pytest", "tests", *session.posargs)
