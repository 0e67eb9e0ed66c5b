#!/bin/sh
# Writes the Docker image's config files: the shipped config/<server>.ini (the built-in
# defaults when it is absent) with every state path (ban file, control socket) pointed into the
# image's volumes, and the log written to the log volume and to stdout (docker logs). The
# server prints the file itself (--print-config), so it lists every key with its comment and
# loads again; --check-config then proves it does.
#   make-config.sh BIN_DIR SOURCE_CONFIG_DIR OUT_DIR [STATE_DIR] [LOG_DIR]
set -eu
bin="$1"
src="$2"
out="$3"
state="${4:-/var/lib/muwarden}"
logs="${5:-/var/log/muwarden}"
mkdir -p "$out"
for server in connect-server game-server; do
  set --
  if [ -f "$src/$server.ini" ]; then
    set -- --config "$src/$server.ini"
  fi
  set -- "$@" --set "security.ban_file=$state/$server-bans.txt" \
    --set "log.file=$logs/$server.log" --set log.stdout=true \
    --set "control.socket=$state/$server.sock"
  if [ "$server" = game-server ]; then
    set -- "$@" --set "game.database=$state/accounts.db"
  fi
  "$bin/$server" "$@" --print-config >"$out/$server.ini"
  "$bin/$server" --config "$out/$server.ini" --check-config >/dev/null
  echo "make-config: $out/$server.ini (state in $state, log in $logs)"
done
