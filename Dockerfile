# syntax=docker/dockerfile:1
# Alejandria: the web app, workers and beat in one image (see docs/deploy.md).
#
#   docker build -t alejandria .                                  # core[embed] (default)
#   docker build --build-arg EXTRAS=embed,transcribe,video -t alejandria .
#
# EXTRAS: alejandria-core's extras (embed, transcribe, video, openai, whisper), comma-separated;
# empty for none (whisper brings torch: gigabytes). PIP_PACKAGES: more packages (plugins).
# Three stages: the web app's pinned front-end files (npm), a virtualenv built
# with compilers at hand, and a slim runtime holding only that virtualenv, run as a user
# without privileges.

ARG PYTHON_VERSION=3.12

FROM node:20-bookworm-slim AS frontend
WORKDIR /frontend
COPY packages/alejandria-web/frontend/package.json packages/alejandria-web/frontend/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ARG EXTRAS=embed
# more pip packages in the image: Flower (the compose file's optional Celery monitor), plugins
ARG PIP_PACKAGES=flower
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/alejandria
ENV PATH=/opt/alejandria/bin:$PATH
WORKDIR /src
COPY packages/ packages/
RUN pip install --upgrade pip \
 && pip install "packages/alejandria-core[${EXTRAS}]" \
        packages/alejandria-source-pdf packages/alejandria-source-patreon \
        packages/alejandria-source-gumroad packages/alejandria-search-tantivy \
        packages/alejandria-web ${PIP_PACKAGES}
COPY --from=frontend /frontend/node_modules packages/alejandria-web/frontend/node_modules
# the pinned front-end files go inside the installed package (static/vendor), as ./dev does
RUN python -m alejandria_web.vendor packages/alejandria-web/frontend >/dev/null \
 && alejandria --version

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# ffmpeg: probing, thumbnails of videos, transcription; tini: signals and zombies handled.
# pg_dump/pg_restore 16 come with pgserver (a core dependency) for a PostgreSQL 16 server;
# another server version: add postgresql-client-N here (or set ALEJANDRIA_PG_BIN_DIR).
ARG APT_PACKAGES="ffmpeg tini"
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ${APT_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 alejandria \
 && useradd --system --uid 10001 --gid alejandria --create-home --home-dir /home/alejandria \
        alejandria \
 && mkdir -p /data /backups && chown alejandria:alejandria /data /backups
COPY --from=build /opt/alejandria /opt/alejandria
ENV PATH=/opt/alejandria/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ALEJANDRIA_DATA_DIR=/data \
    ALEJANDRIA_BACKUP_DIR=/backups \
    ALEJANDRIA_WEB_HOST=0.0.0.0 \
    ALEJANDRIA_WEB_PORT=8000
USER alejandria
WORKDIR /home/alejandria
VOLUME ["/data", "/backups"]
EXPOSE 8000
ENTRYPOINT ["tini", "--", "alejandria"]
CMD ["serve"]
