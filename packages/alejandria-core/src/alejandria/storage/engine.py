"""Opening the database: the embedded server or the one ``ALEJANDRIA_DATABASE_URL`` names."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from alejandria.errors import DatabaseUnavailable
from alejandria.settings import Settings
from alejandria.storage.embedded import EmbeddedPostgres, to_sqlalchemy_url


@dataclass
class Database:
    """An engine plus, in embedded mode, the server handle that keeps Postgres running."""

    engine: Engine
    embedded: EmbeddedPostgres | None = None

    @property
    def description(self) -> str:
        url = self.engine.url
        if self.embedded is not None:
            return f"embedded Postgres in {self.embedded.pgdata}"
        return url.render_as_string(hide_password=True)

    @property
    def url_fingerprint(self) -> str:
        """A short, password-free name for this database (keys shared caches per archive)."""
        import hashlib

        url = self.engine.url
        plain = f"{url.host}:{url.port}/{url.database}"
        return hashlib.sha256(plain.encode()).hexdigest()[:12]

    def close(self) -> None:
        self.engine.dispose()
        if self.embedded is not None:
            self.embedded.stop()


def open_database(settings: Settings) -> Database:
    """Connect (starting the embedded server if no URL is set) and check the connection."""
    embedded = None
    if settings.database_url is None:
        embedded = EmbeddedPostgres(settings.embedded_pgdata,
                                    linger_s=settings.embedded_linger_s)
        url = embedded.start()
    else:
        url = to_sqlalchemy_url(settings.database_url.get_secret_value())
    # 20 kept: a busy web server reuses connections instead of opening and closing overflow
    # ones. Its thread limiter runs 10 calls at once, yet with 10 kept a post detail under
    # 16 concurrent requests still opened 24 connections/s (the guard's token check and the
    # handler are separate calls, each holding one); 66 connects/s on 1 MiB reads with 5.
    # Kept connections are opened only when needed (a CLI command holds one).
    engine = create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=5)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        if embedded is not None:
            embedded.stop()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(
            f"cannot connect to {engine.url.render_as_string(hide_password=True)}: {reason}"
        ) from exc
    return Database(engine=engine, embedded=embedded)
