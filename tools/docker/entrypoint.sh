#!/bin/sh
# Entrypoint of the muwarden Docker image.
#   connect-server [FLAGS]   run the ConnectServer with /etc/muwarden/connect-server.ini
#   game-server [FLAGS]      run the GameServer with /etc/muwarden/game-server.ini
#   game-server account ...  the account commands on the image's database
#   anything else            run as given (sh, muwarden-probe, ...)
# FLAGS are the servers' own (--set section.key=value, --port, ...); a --config among them
# replaces the image's file. exec keeps the server as PID 1, so `docker stop` (SIGTERM) and
# `docker kill --signal HUP` (ban file reload) reach it directly.
set -eu
bindir="${MUWARDEN_BIN_DIR:-/usr/local/bin}"
confdir="${MUWARDEN_CONFIG_DIR:-/etc/muwarden}"

if [ "$#" -eq 0 ]; then
  set -- connect-server
fi
case "$1" in
  -*) set -- connect-server "$@" ;;  # flags alone: the default server
esac
case "$1" in
  connect-server | game-server)
    server="$1"
    shift
    for arg in "$@"; do
      case "$arg" in
        --config | --config=*) exec "$bindir/$server" "$@" ;;
      esac
    done
    exec "$bindir/$server" --config "$confdir/$server.ini" "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
