# A container image of pravaha-node (README "Operations"): built on Debian 12 from this tree, run
# as a non-root user, listening on every interface of the container, healthy while /health
# answers. Build: docker build -t pravaha . ; a 3-node cluster: deploy/compose.yaml.

# -- build stage: the toolchain and -dev packages, the tree, an install into /opt/pravaha --------
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config libcaf-dev capnproto libcapnp-dev librocksdb-dev \
      libspdlog-dev libfmt-dev libcli11-dev libssl-dev catch2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt README.md ARCHITECTURE.md ./
COPY cmake cmake
COPY schema schema
COPY storage storage
COPY actors actors
COPY runtime runtime
COPY client client
COPY sim sim
COPY deploy deploy
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
 && ninja -C /build \
 && cmake --install /build --prefix /opt/pravaha --strip

# -- run stage: the shared libraries only ---------------------------------------------------------
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcaf-core0.17 libcaf-io0.17 libcapnp-0.9.2 librocksdb7.8 libspdlog1.10 libfmt9 libssl3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/pravaha --create-home pravaha
COPY --from=build /opt/pravaha/bin/ /usr/local/bin/
USER pravaha
WORKDIR /var/lib/pravaha
VOLUME /var/lib/pravaha
# The node endpoint (C++ clients and peers), Cap'n Proto RPC, metrics, the framed data port.
EXPOSE 9090 9091 9092 9093
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:9092/health || exit 1
ENTRYPOINT ["pravaha-node", "--data-dir", "/var/lib/pravaha", "--bind", "0.0.0.0"]
# The data port is in CMD, not ENTRYPOINT: a node given --token-file or TLS refuses it.
CMD ["--standalone", "--data-port", "9093"]
