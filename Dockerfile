# syntax=docker/dockerfile:1
# full-lakehouse image: one image, every service (`lakehouse api`, `lakehouse loader`, docs, backup).
# Built with uv from uv.lock (`uv sync --frozen`): dependencies in their own cached layer, before
# the source, so an edit to the code rebuilds in seconds. The runtime stage holds the virtual
# environment, the dbt project and the profile; no compiler, no uv, no source tree. Runs as the
# non-root `delta-user`.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.9

FROM ${UV_IMAGE} AS uv

# ---- build: resolve and install into /app/.venv --------------------------------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# 1. third-party dependencies only: this layer changes only when uv.lock or pyproject.toml do
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project
# 2. the project itself, installed as a package (not editable: the source tree stays here)
COPY . /src
RUN --mount=type=cache,target=/root/.cache/uv \
    cd /src && uv sync --frozen --no-dev --no-editable

# ---- runtime ---------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 delta-user \
 && useradd --system --uid 10001 --gid delta-user --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin delta-user \
 && mkdir -p /app /data/landing_zone /data/dados /backups \
 && chown -R delta-user:delta-user /data /backups
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --chown=delta-user:delta-user dbt_project /app/dbt_project
COPY profiles.yml /app/profiles.yml
# Everything movable is a LAKEHOUSE_* setting; these are the container's places. New named
# volumes mounted on /data/* and /backups start owned by delta-user (copied from the image).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LAKEHOUSE_ROOT=/app \
    LAKEHOUSE_LANDING_ZONE=/data/landing_zone \
    LAKEHOUSE_DADOS=/data/dados \
    LAKEHOUSE_DBT_PROJECT_DIR=/app/dbt_project \
    LAKEHOUSE_PROFILES_DIR=/app \
    LAKEHOUSE_LOG_FORMAT=json
USER delta-user
VOLUME ["/data/landing_zone", "/data/dados"]
EXPOSE 8000 8080 9464
ENTRYPOINT ["lakehouse"]
CMD ["--help"]
