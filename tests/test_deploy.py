"""docker-compose.yml, the Dockerfile and .env.example give the app what it needs: a worker
for every queue core and the plugins use, healthchecks, one beat, the documented settings."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
yaml = pytest.importorskip("yaml")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _queues_used() -> set[str]:
    """Every queue a job can be sent to: core's defaults, every job type's, every
    processor's (a plugin's own queue included)."""
    from alejandria.builtins import build_plugin_manager
    from alejandria.queue.broker import QUEUES

    plugins = build_plugin_manager()
    plugins.validate()
    used = set(QUEUES)
    used |= {spec.queue for spec in plugins.job_types().values()}
    used |= {spec.queue for spec in plugins.processors().values() if spec.queue}
    return used


def test_every_queue_has_a_worker_and_every_worker_a_queue(compose):
    consumed: dict[str, str] = {}
    for name, service in compose["services"].items():
        command = _command(service)
        if command[:1] == ["worker"]:
            assert "-Q" in command, f"{name}: name its queue with -Q"
            for queue in command[command.index("-Q") + 1].split(","):
                assert queue not in consumed, f"{queue} consumed by {consumed[queue]} and {name}"
                consumed[queue] = name
    used = _queues_used()
    assert set(consumed) >= used, f"no worker for the queue(s) {sorted(used - set(consumed))}"
    assert set(consumed) <= used, f"workers for unknown queue(s) {sorted(set(consumed) - used)}"


def test_services_the_app_needs_with_healthchecks(compose):
    services = compose["services"]
    assert services["postgres"]["image"].startswith("pgvector/pgvector:pg")
    assert services["redis"]["image"].startswith("redis:")
    assert _command(services["web"])[:1] == ["serve"]
    assert _command(services["migrate"]) == ["db", "upgrade"]
    assert [name for name, s in services.items() if _command(s)[:1] == ["beat"]] == ["beat"]
    assert services["flower"]["profiles"] == ["flower"]
    assert "/health" in " ".join(services["web"]["healthcheck"]["test"])
    for name, service in services.items():
        if name in ("migrate", "flower"):
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"
        if _command(service)[:1] in (["worker"], ["beat"]):
            assert service["healthcheck"]["test"] == ["CMD", "alejandria", "doctor"]
    for name in ("web", "beat", "worker-sources"):
        env = services[name]["environment"]
        assert env["ALEJANDRIA_DATABASE_URL"].startswith("postgresql://")
        assert env["ALEJANDRIA_BROKER_URL"].startswith("redis://redis:")
        assert any(volume.endswith(":/data") for volume in services[name]["volumes"])
        assert any(volume.endswith(":/backups") for volume in services[name]["volumes"])
        assert services[name]["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"
    assert {"pgdata", "data"} <= set(compose["volumes"])


def test_env_example_documents_what_compose_reads(compose):
    text = (REPO / "docker-compose.yml").read_text()
    needed = {match for match in re.findall(r"\$\{([A-Z_]+)", text)}
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (REPO / ".env.example").read_text(),
                                re.MULTILINE))
    assert needed <= documented, f"not in .env.example: {sorted(needed - documented)}"
    from alejandria.settings import Settings

    settings = {f"ALEJANDRIA_{name.upper()}" for name in Settings.model_fields}
    unknown = {name for name in documented if name.startswith("ALEJANDRIA_")
               and name not in settings and not name.startswith("ALEJANDRIA_WEB_")
               and name not in {"ALEJANDRIA_SECRET_KEY", "ALEJANDRIA_IMAGE"}}
    assert not unknown, f".env.example names settings that do not exist: {sorted(unknown)}"


def test_dockerfile_is_multi_stage_slim_and_unprivileged():
    text = (REPO / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", text, re.MULTILINE)
    assert [name for _image, name in stages] == ["frontend", "build", "runtime"]
    assert "slim" in stages[-1][0]
    assert re.search(r"^ARG EXTRAS=", text, re.MULTILINE)
    assert '"packages/alejandria-core[${EXTRAS}]"' in text
    runtime = text.split("AS runtime", 1)[1]
    assert re.search(r"^USER alejandria$", runtime, re.MULTILINE)
    assert "build-essential" not in runtime
