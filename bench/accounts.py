"""Accounts: argon2id verify time, and API token check latency against a bare indexed SELECT.

- **argon2id verify**: ``Passwords.verify`` with the default parameters (``Settings``), the
  median of ``--verifies`` runs; also a whole ``authenticate`` for a known and for an unknown
  username, which should cost the same (the unknown one verifies a dummy hash).
- **token check**: ``archive.tokens.check`` (one lookup of the unique hash index joined to the
  owner) over ``--tokens`` stored tokens, p50/p95 of ``--checks`` calls, against the baseline:
  a bare ``SELECT ... WHERE id = %s`` by primary key on the same table over one psycopg
  connection to the same database, in the same run. The ratio is ours / baseline. The same
  SELECT through the archive's pooled SQLAlchemy engine (whose checkout pings the server) is
  printed too: most of the distance to the bare one is that checkout, not the check.

    python bench/accounts.py [--database-url postgresql://...] [--checks 5000] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from harness import Server, machine
from sqlalchemy import bindparam, select

from alejandria import Archive
from alejandria.accounts.errors import BadCredentials
from alejandria.accounts.passwords import Passwords
from alejandria.settings import Settings
from alejandria.storage.schema import api_tokens

PASSWORD = "correct horse battery staple"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def bench_verify(settings: Settings, runs: int) -> dict[str, Any]:
    passwords = Passwords.from_settings(settings)
    stored = passwords.hash(PASSWORD)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        assert passwords.verify(stored, PASSWORD)
        times.append(time.perf_counter() - start)
    hasher = passwords.hasher
    return {"params": f"argon2id t={hasher.time_cost} m={hasher.memory_cost} KiB "
                      f"p={hasher.parallelism}",
            "verify_ms_median": ms(statistics.median(times)), "verify_ms_min": ms(min(times))}


def bench_login(archive: Archive, runs: int) -> dict[str, float]:
    """A failed login for a known and an unknown username: the same cost."""
    archive.accounts.create("known", PASSWORD)
    result = {}
    for name in ("known", "unknown"):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            with contextlib.suppress(BadCredentials):
                archive.accounts.authenticate(name, "wrong password")
            times.append(time.perf_counter() - start)
            archive.accounts.throttle.reset(f"account:{name}")  # never lock during the bench
        result[f"failed_login_{name}_ms_median"] = ms(statistics.median(times))
    return result


def bench_tokens(archive: Archive, libpq_url: str, tokens: int, checks: int,
                 seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    owner = archive.accounts.create("owner", PASSWORD, role="admin")
    made = [archive.tokens.create(owner.id, "write").token for _ in range(tokens)]
    ids = [info.id for info in archive.tokens.list(owner.id)]
    picks = [rng.choice(made) for _ in range(checks)]
    for token in made:  # warm-up: every token seen once (its last-used time written)
        archive.tokens.check(token)

    ours = []
    for token in picks:
        start = time.perf_counter()
        archive.tokens.check(token, "write")
        ours.append(time.perf_counter() - start)

    held = []  # on a connection the caller holds (a web request's): no pool checkout
    with archive.engine.connect() as request_conn:
        for token in picks:
            start = time.perf_counter()
            archive.tokens.check(token, "write", conn=request_conn)
            held.append(time.perf_counter() - start)

    bare = []
    with psycopg.connect(libpq_url, autocommit=True) as conn:
        id_picks = [rng.choice(ids) for _ in range(checks)]
        for token_id in id_picks[:200]:
            conn.execute("SELECT id, user_id, scope FROM api_tokens WHERE id = %s",
                         (token_id,)).fetchone()
        for token_id in id_picks:
            start = time.perf_counter()
            conn.execute("SELECT id, user_id, scope FROM api_tokens WHERE id = %s",
                         (token_id,)).fetchone()
            bare.append(time.perf_counter() - start)
    # the same primary-key SELECT through the archive's pooled engine (a checkout pings)
    by_id = select(api_tokens.c.id, api_tokens.c.user_id, api_tokens.c.scope).where(
        api_tokens.c.id == bindparam("id"))
    pooled = []
    for token_id in id_picks:
        start = time.perf_counter()
        with archive.engine.connect() as sa_conn:
            sa_conn.execute(by_id, {"id": token_id}).first()
        pooled.append(time.perf_counter() - start)
    return {"tokens": tokens, "checks": checks,
            "pooled_pk_select_ms_p50": ms(percentile(pooled, 0.5)),
            "pooled_pk_select_ms_p95": ms(percentile(pooled, 0.95)),
            "ratio_to_pooled_p95": round(percentile(ours, 0.95) / percentile(pooled, 0.95), 2),
            "check_ms_p50": ms(percentile(ours, 0.5)), "check_ms_p95": ms(percentile(ours, 0.95)),
            "check_held_conn_ms_p50": ms(percentile(held, 0.5)),
            "check_held_conn_ms_p95": ms(percentile(held, 0.95)),
            "ratio_held_p95": round(percentile(held, 0.95) / percentile(bare, 0.95), 2),
            "bare_pk_select_ms_p50": ms(percentile(bare, 0.5)),
            "bare_pk_select_ms_p95": ms(percentile(bare, 0.95)),
            "ratio_p95": round(percentile(ours, 0.95) / percentile(bare, 0.95), 2),
            "ratio_p50": round(percentile(ours, 0.5) / percentile(bare, 0.5), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="a Postgres we may CREATE DATABASE on "
                        "(default: an embedded pgserver in a temporary dir)")
    parser.add_argument("--verifies", type=int, default=20)
    parser.add_argument("--logins", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)

    info = machine()
    print(f"Machine: {info['cpu']}; {info['cores']} cores; Python {info['python']}", flush=True)
    results: dict[str, Any] = {"machine": info}
    with tempfile.TemporaryDirectory(prefix="alejandria-accounts-bench-") as tmp:
        workdir = Path(tmp)
        with Server.start(workdir, args.database_url) as server:
            pg = server.describe()
            results["postgres"] = pg
            print(f"Postgres {pg['version']} ({pg['where']})", flush=True)
            database = server.fresh_database()
            settings = Settings(data_dir=workdir / "data", database_url=server.url_for(database),
                                load_plugins=False)
            results["verify"] = bench_verify(settings, args.verifies)
            print(f"{results['verify']['params']}: verify {results['verify']['verify_ms_median']}"
                  f" ms (median of {args.verifies})", flush=True)
            with Archive.open(settings=settings, migrate=False) as archive:
                results["login"] = bench_login(archive, args.logins)
                print("failed login, known user {failed_login_known_ms_median} ms, unknown "
                      "user {failed_login_unknown_ms_median} ms".format(**results["login"]),
                      flush=True)
                tokens = bench_tokens(archive, server.libpq_url(database), args.tokens,
                                      args.checks, args.seed)
            results["token_check"] = tokens
            print(f"token check over {tokens['tokens']} tokens, {tokens['checks']} checks: "
                  f"p50 {tokens['check_ms_p50']} ms, p95 {tokens['check_ms_p95']} ms "
                  f"(goal <= 1 ms); bare PK SELECT p50 {tokens['bare_pk_select_ms_p50']} ms, "
                  f"p95 {tokens['bare_pk_select_ms_p95']} ms; ratio p95 {tokens['ratio_p95']}, "
                  f"p50 {tokens['ratio_p50']}; the same SELECT through the pooled engine p95 "
                  f"{tokens['pooled_pk_select_ms_p95']} ms (ratio "
                  f"{tokens['ratio_to_pooled_p95']}); on a held connection: p50 "
                  f"{tokens['check_held_conn_ms_p50']} ms, p95 "
                  f"{tokens['check_held_conn_ms_p95']} ms (ratio p95 {tokens['ratio_held_p95']})",
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
