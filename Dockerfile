# syntax=docker/dockerfile:1
# Fleetgraph API server: `fleetgraph serve` on port 8000.
#
#   docker build -t fleetgraph .
#   docker run -p 8000:8000 \
#     -e FLEETGRAPH_SECRET_KEY=<32+ random characters> \
#     -e FLEETGRAPH_DATABASE_URL=postgresql+asyncpg://user:password@db:5432/fleetgraph \
#     fleetgraph
#
# No secret is baked in: without FLEETGRAPH_SECRET_KEY the server refuses to start.
# The default database is a SQLite file in the /var/lib/fleetgraph volume (one replica
# only); production uses PostgreSQL. Migrations run at start (`serve --no-migrate` skips).

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: a virtualenv with the project and its dependencies (wheels only, no compiler)
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/fleetgraph
WORKDIR /src
COPY . .
RUN /opt/fleetgraph/bin/pip install --upgrade pip \
 && /opt/fleetgraph/bin/pip install . \
 && /opt/fleetgraph/bin/python -m compileall -q /opt/fleetgraph/lib

# ---- runtime: the virtualenv only, run by an unprivileged user
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 fleetgraph \
 && useradd --system --uid 10001 --gid fleetgraph --no-create-home --home-dir /var/lib/fleetgraph \
      --shell /usr/sbin/nologin fleetgraph \
 && install -d -o fleetgraph -g fleetgraph -m 0750 /var/lib/fleetgraph
COPY --from=build /opt/fleetgraph /opt/fleetgraph

ENV PATH=/opt/fleetgraph/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FLEETGRAPH_HOST=0.0.0.0 \
    FLEETGRAPH_PORT=8000 \
    FLEETGRAPH_DATA_DIR=/var/lib/fleetgraph \
    FLEETGRAPH_DATABASE_URL=sqlite+aiosqlite:////var/lib/fleetgraph/fleetgraph.db \
    FLEETGRAPH_LOG_LEVEL=INFO
# Required at run time, deliberately unset here: FLEETGRAPH_SECRET_KEY (32+ characters).

WORKDIR /var/lib/fleetgraph
VOLUME ["/var/lib/fleetgraph"]
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('FLEETGRAPH_PORT', '8000'), timeout=4).read()" || exit 1

CMD ["fleetgraph", "serve"]
