# The prbot Bitbucket Pipe image (see bitbucket-pipe.yml). Build from the repository root:
#   docker build -t prbotdev/prbot-pipe:0.1.0 .
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True

# git: prbot reads local repositories through it (and GitPython needs the binary).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

# Install prbot from the build context, then drop the sources.
COPY pyproject.toml README.md /build/
COPY src /build/src
RUN python -m pip install /build && rm -rf /build

COPY pipe/pipe.sh /pipe/pipe.sh
RUN chmod 0755 /pipe/pipe.sh \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin prbot

USER prbot
ENTRYPOINT ["/pipe/pipe.sh"]
