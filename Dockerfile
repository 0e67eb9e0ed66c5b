# muwarden: MU Online ConnectServer and GameServer.
#   docker build -t muwarden .
#   docker run --network host muwarden connect-server --set ratelimit.conn_rate_limit=5
#   docker run --network host muwarden game-server
#   docker compose up -d            (compose.yaml: both servers, host networking)
# Host networking is the recommended way: with published ports (-p) reached through Docker's
# userland proxy every client appears as the bridge gateway (SECURITY.md, "Docker").
# Logs go to stdout (docker logs) and to /var/log/muwarden/<server>.log, the file fail2ban on
# the host reads from the log volume.
# The build stage uses the same scripts as CI (scripts/setup, scripts/build) and runs the unit
# tests; the runtime stage holds only the runtime libraries, the two servers, the health probe
# and the configs, and runs as an unprivileged user.

# ---- build ------------------------------------------------------------------------------------
FROM debian:12 AS build
WORKDIR /src
# Dependencies first, so editing the sources does not reinstall them. Only what compiling and
# the unit tests need, not the integration tests' tools.
COPY scripts/setup scripts/setup
RUN bash scripts/setup --build && rm -rf /var/lib/apt/lists/*
COPY . .
# --build-arg MUWARDEN_TESTS=OFF skips building and running the unit tests (the Docker test
# does, to stay fast: CI has run them already).
ARG MUWARDEN_TESTS=ON
RUN BUILD_TYPE=Release BUILD_DIR=build bash scripts/build -DMUWARDEN_BENCH=OFF -DMUWARDEN_FUZZ=OFF \
      -DMUWARDEN_TESTS="$MUWARDEN_TESTS"
RUN if [ "$MUWARDEN_TESTS" = ON ]; then ctest --test-dir build -L unit --output-on-failure -j"$(nproc)"; fi
# The image's configs: the shipped config/*.ini with the ban files, account database and logs
# pointed into the volumes below.
RUN sh tools/docker/make-config.sh build/bin config /out/etc/muwarden \
      /var/lib/muwarden /var/log/muwarden

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:12-slim
COPY scripts/setup /usr/local/share/muwarden/setup
RUN bash /usr/local/share/muwarden/setup --runtime && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid so host directories mounted on the volumes can be chowned to it.
RUN groupadd --system --gid 10001 muwarden \
 && useradd --system --uid 10001 --gid muwarden --home-dir /var/lib/muwarden --no-create-home \
      --shell /usr/sbin/nologin muwarden \
 && install -d -o muwarden -g muwarden -m 0750 /var/lib/muwarden /var/log/muwarden
COPY --from=build /src/build/bin/connect-server /src/build/bin/game-server \
     /src/build/bin/muwarden-probe /src/build/bin/muwarden-ctl /usr/local/bin/
COPY --from=build /out/etc/muwarden/ /etc/muwarden/
COPY tools/docker/entrypoint.sh /usr/local/bin/muwarden-entrypoint
# The shipped examples (configs, bans.txt, fail2ban, systemd) for reference.
COPY config/ /usr/local/share/doc/muwarden/config/
COPY SECURITY.md /usr/local/share/doc/muwarden/

USER muwarden:muwarden
WORKDIR /var/lib/muwarden
EXPOSE 44405 55901
# State: ban files, the account database and the control sockets (muwarden-ctl --socket
# /var/lib/muwarden/connect-server.sock, via docker exec). Logs: the files fail2ban on the host
# reads (the same lines go to stdout for docker logs).
VOLUME ["/var/lib/muwarden", "/var/log/muwarden"]
# The probe checks both default ports and passes when either greets like a MU server; set
# this to HOST:PORT when a server runs on another port.
ENV MUWARDEN_PROBE_TARGETS=127.0.0.1:44405,127.0.0.1:55901
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/muwarden-probe", "--timeout", "3"]
ENTRYPOINT ["/usr/local/bin/muwarden-entrypoint"]
CMD ["connect-server"]
