# syntax=docker/dockerfile:1
# The `reloader` image: a release build on Debian, run from distroless `cc` (glibc + libgcc, no
# shell) as the non-root user 65532. TLS is rustls (no OpenSSL); the root filesystem can be
# read-only (the binary writes nothing to disk).
#
#   docker build -t ghcr.io/reload-rs/reloader:0.1.0 --build-arg VERSION=0.1.0 \
#     --build-arg REVISION=$(git rev-parse HEAD) .

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /build
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked -p reload-bin --bin reloader \
    && install -D -m 0755 target/release/reloader /out/reloader

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="reloader" \
      org.opencontainers.image.description="Rolls Kubernetes workloads when their ConfigMaps and Secrets change; a drop-in replacement for stakater/Reloader" \
      org.opencontainers.image.source="https://github.com/reload-rs/reloader" \
      org.opencontainers.image.url="https://github.com/reload-rs/reloader" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=builder /out/reloader /reloader
USER 65532:65532
# /metrics, /live, /ready
EXPOSE 9090
ENTRYPOINT ["/reloader"]
