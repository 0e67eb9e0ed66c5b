#!/bin/sh
# Runs `bash scripts/test` (or with the given scripts/test arguments, e.g. --quick) in a fresh
# debian:12 container with IPv6 disabled, as Docker's default network has it: the tests that
# need ::1 skip with their reason and everything else must pass (the Docker test itself skips
# with its reason: no engine can start inside an unprivileged container). Needs a Docker
# engine; the image with the test dependencies is built with host networking (for apt), the
# tests run with no network at all but loopback. The host's ccache directory is shared with the
# container when it exists, so a second run recompiles only what changed.
#   sh tools/docker/test-in-container.sh [--quick]
set -eu
src="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/scripts"
cp "$src/scripts/setup" "$tmp/scripts/setup"
cat >"$tmp/Dockerfile" <<'DOCKERFILE'
FROM debian:12
COPY scripts/setup /usr/local/share/muwarden/setup
RUN bash /usr/local/share/muwarden/setup && rm -rf /var/lib/apt/lists/*
DOCKERFILE
docker build --network host -t muwarden-test-deps "$tmp"
git -C "$src" archive --format=tar HEAD >"$tmp/src.tar"
cache_mount=""
ccache_dir="${CCACHE_DIR:-$HOME/.cache/ccache}"
if [ -d "$ccache_dir" ]; then cache_mount="-v $ccache_dir:/ccache -e CCACHE_DIR=/ccache"; fi
# shellcheck disable=SC2086 # cache_mount is two options or none
docker run --rm --network none $cache_mount \
  --sysctl net.ipv6.conf.all.disable_ipv6=1 --sysctl net.ipv6.conf.lo.disable_ipv6=1 \
  -v "$tmp/src.tar:/src.tar:ro" muwarden-test-deps \
  sh -c 'mkdir /w && tar -C /w -xf /src.tar && cd /w && bash scripts/test "$@"' sh "$@"
