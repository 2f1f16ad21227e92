# The db-access Slack bot (`python -m dbaccess.bot`). Build from the repository root:
#   docker build -t <registry>/dbaccess-bot:<version> .
# Runs as a non-root user with a read-only root filesystem; /tmp is the only writable path
# (an emptyDir in the Deployment).
FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The package with the `bot` extra, every version pinned by the lock (requirements.txt): one
# source of truth for what the bot runs.
COPY requirements.txt pyproject.toml README.md ./
COPY dbaccess ./dbaccess
RUN python -m venv /opt/bot \
 && /opt/bot/bin/pip install --constraint requirements.txt '.[bot]' \
 && rm -rf /src

FROM python:3.11.14-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    PATH=/opt/bot/bin:$PATH \
    HEALTH_PORT=8080
RUN groupadd --gid 10001 bot && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin bot
COPY --from=build /opt/bot /opt/bot
USER 10001:10001
EXPOSE 8080
# Exec form: the bot is PID 1 and gets SIGTERM itself (it closes the socket and exits 0).
ENTRYPOINT ["python", "-m", "dbaccess.bot"]
