# syntax=docker/dockerfile:1
#
# within-daemon container image.
#
#   docker build -t within-daemon .
#   docker run -d --name within \
#       -v /srv/within/within.toml:/etc/within-daemon/within.toml:ro \
#       -v within-state:/var/lib/within-daemon \
#       --env-file /srv/within/within.env \
#       -p 127.0.0.1:9464:9464 \
#       --stop-timeout 45 \
#       within-daemon
#
# The config inside a container:
#   [database]
#   url = "sqlite:////var/lib/within-daemon/within.db"   # on the volume below
#   [metrics]
#   listen = "0.0.0.0:9464"   # NOT the 127.0.0.1 default: loopback inside the container
#                             # cannot be reached by a published port or a scraper.
# /metrics and /status show account ids: publish the port to loopback or a private network
# only (-p 127.0.0.1:9464:9464), never to the open internet.
# Tokens: --env-file with the variables named by { env = "..." } in within.toml (see
# systemd/within-daemon.env.example), or Docker/Compose secrets referenced as
# access_token = { file = "/run/secrets/<name>" }.
#
# Stopping: SIGTERM starts a drain of up to [runtime] grace_seconds (default 30 s). Docker
# sends SIGKILL after 10 s unless told otherwise: use `docker stop -t 45`, `docker run
# --stop-timeout 45`, or `stop_grace_period: 45s` in Compose.
# Reloading the config: docker kill --signal=HUP within
# Checking a config: docker run --rm -v ...:/etc/within-daemon/within.toml:ro within-daemon \
#                        check-config --config /etc/within-daemon/within.toml

# ---- builder: build the wheel and install it with its dependencies into a venv --------
FROM python:3.11-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# README.md* : copied when present (pyproject names it as the long description).
COPY pyproject.toml README.md* ./
COPY within_daemon ./within_daemon
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && pip install /wheels/*.whl \
    && within-daemon --version

# ---- runtime: the venv, tini and an unprivileged user; no compiler, no source tree ----
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 within \
    && useradd --system --uid 10001 --gid within --no-log-init \
        --home-dir /var/lib/within-daemon --shell /usr/sbin/nologin within \
    && mkdir -p /var/lib/within-daemon /etc/within-daemon \
    && chown within:within /var/lib/within-daemon \
    && chmod 0700 /var/lib/within-daemon
# Code stays owned by root: the daemon's user can read it but not change it.
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /var/lib/within-daemon
USER 10001:10001
VOLUME ["/var/lib/within-daemon"]
EXPOSE 9464
STOPSIGNAL SIGTERM
# Liveness only (the event loop answers): upstream API outages must not mark the container
# unhealthy. Needs [metrics] enabled on port 9464; change the URL if you move the port.
# slim has no curl: python's urllib exits non-zero on any connection error or HTTP error.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4)"]
# tini as PID 1 forwards SIGTERM/SIGHUP to the daemon and reaps zombies.
ENTRYPOINT ["tini", "--", "within-daemon"]
CMD ["run", "--config", "/etc/within-daemon/within.toml"]
