# User-code image of the gh_assets code location: the Dagster Helm chart's user deployment runs its gRPC code
# server, and the K8sRunLauncher starts every run pod from the same image.
#   docker build -t gh-assets:$(git rev-parse --short HEAD) .
# The chart sets the container's args (dagster code-server start ... -m gh_assets.definitions), so this image has
# no ENTRYPOINT; the CMD below is what `docker run` does on its own.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/gh_assets

# Dependencies first, from the pinned lock, so a code change does not reinstall them. The postgres extra is the
# Dagster storage; dagster-k8s (same release line as dagster 1.13.27) is the K8sRunLauncher, which the instance
# config loads in every Dagster process, run pods included.
COPY pyproject.toml requirements.lock README.md ./
COPY gh_assets ./gh_assets
RUN pip install -c requirements.lock ".[postgres,s3]" "dagster-k8s==0.29.27"

# The sources config baked in as a default; mount a ConfigMap over it (or set GH_ASSETS_CONFIG) in a cluster.
COPY sources.yaml ./sources.yaml

RUN useradd --system --uid 10001 --gid 0 --home-dir /opt/gh_assets --no-create-home gh_assets \
    && mkdir -p /var/lib/gh_assets \
    && chown 10001:0 /var/lib/gh_assets \
    && chmod 0775 /var/lib/gh_assets
USER 10001

# The lake and the DuckDB file. On Kubernetes mount a volume here that every run pod shares.
ENV GH_ASSETS_DATA_DIR=/var/lib/gh_assets/data \
    GH_ASSETS_CONFIG=/opt/gh_assets/sources.yaml

EXPOSE 3030
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "3030", "-m", "gh_assets.definitions"]
