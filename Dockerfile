# syntax=docker/dockerfile:1
# The edgio-ingress controller image: the product wheel and its pinned runtime
# dependencies in a virtualenv, on the same slim Python as the build stage. No emulators
# (the sandbox is another distribution), no compilers, no shell tools of ours.
#
#   docker build -t edgio-ingress:0.1.0 .
#   docker run --rm --read-only --tmpfs /tmp edgio-ingress:0.1.0 --help
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first, so that a code change does not reinstall them.
COPY requirements/runtime.txt requirements/runtime.txt
RUN python -m venv /opt/edgio-ingress \
    && /opt/edgio-ingress/bin/pip install --no-cache-dir --only-binary=:all: -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY reconciler reconciler
# The product wheel only; its dependencies are the pinned ones installed above.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && /opt/edgio-ingress/bin/pip install --no-cache-dir --no-deps /wheels/edgio_ingress-*.whl \
    && /opt/edgio-ingress/bin/pip uninstall --yes pip setuptools \
    && /opt/edgio-ingress/bin/python -m compileall -q /opt/edgio-ingress

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="edgio-ingress" \
      org.opencontainers.image.description="Edgio Delivery CDN as a Kubernetes Ingress provider, with Vultr DNS for the origin" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/edgio-ingress /opt/edgio-ingress
# Nothing writes outside /tmp: bytecode is compiled at build time, HOME is /tmp, and the
# controller keeps its state in memory, so the root filesystem can be read-only.
ENV PATH=/opt/edgio-ingress/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
# A numeric UID and GID (no passwd entry needed), as the chart's runAsUser.
USER 65532:65532
# /metrics and /healthz, /readyz
EXPOSE 8080 8081
ENTRYPOINT ["edgio-ingress"]
CMD ["run"]
