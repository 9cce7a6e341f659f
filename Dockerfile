# syntax=docker/dockerfile:1
#
# The action-item-verifier image. The release workflow (.github/workflows/release.yml) builds it with
#   docker buildx build --build-arg VERSION=<pyproject's version> --build-arg REVISION=<commit> \
#     --build-arg CREATED=<RFC 3339 time of the commit> --build-arg SOURCE=<repository URL> .
# and the build fails when VERSION is not the version of the package it installs.
# Runs as user 65532 on a read-only root filesystem; writes nothing outside /tmp
# (tests/runtime reproduces these steps without a daemon and checks that contract under bubblewrap).
#
# The base is the official python:3.12-slim (CPython 3.12.14, Debian trixie), pinned to its multi-arch index
# digest as published in docker-library/repo-info on 2026-08-25. Refresh the digest when bumping:
#   docker buildx imagetools inspect python:3.12-slim
ARG PYTHON_IMAGE=python:3.12.14-slim@sha256:7a8b475003c4fe15a2cd4e55e5cfc2f3560bdc9333d624f24cdd6d4340fd7a17

# ---- build: a virtual environment at /opt/venv holding the dependencies, then the package ----
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1

# The venv has no pip of its own: the base image's pip installs into it (--python), so none ships.
RUN python -m venv --without-pip /opt/venv

WORKDIR /src

# Dependencies first, from the lock alone (exact versions, every file's SHA-256; bash scripts/lock writes it):
# this layer is rebuilt only when the lock changes. --require-hashes also refuses any dependency not in it.
COPY requirements.lock requirements-build.lock ./
RUN pip --python /opt/venv/bin/python install --no-compile --require-hashes -r requirements.lock \
    && pip install --no-compile --require-hashes -r requirements-build.lock

# Then the code, built into a wheel and installed without touching the dependencies.
# The build backend is the locked setuptools just installed (--no-build-isolation: nothing unhashed is fetched).
ARG VERSION
COPY pyproject.toml README.md LICENSE ./
COPY verifier ./verifier
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
    && pip --python /opt/venv/bin/python install --no-compile --no-deps /tmp/wheels/*.whl \
    && pip --python /opt/venv/bin/python check \
    && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib \
    && test "$(/opt/venv/bin/action-item-verifier --version)" = "action-item-verifier ${VERSION:?build with --build-arg VERSION=...}"

# ---- runtime ----
FROM ${PYTHON_IMAGE} AS runtime

# Given by the release workflow: the version (checked above), the commit, its time, and the repository.
ARG VERSION
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="action-item-verifier" \
      org.opencontainers.image.description="Verifies closed post-incident action items against the metrics in a Prometheus-compatible backend." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"

# The standard library too is byte-compiled ahead of time: at run time nothing may be written next to it.
# unchecked-hash .pyc files stay valid whatever the files' timestamps become in the image layers.
RUN python -m compileall -q -j 0 --invalidation-mode unchecked-hash \
        "$(python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"

COPY --from=build /opt/venv /opt/venv

# HOME and TMPDIR point at /tmp, the only writable path (an emptyDir in the Kubernetes manifests).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp

WORKDIR /tmp
USER 65532:65532

ENTRYPOINT ["action-item-verifier"]
CMD ["run"]
