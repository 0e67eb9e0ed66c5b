#!/usr/bin/env python3
"""muwarden-probe (the Docker HEALTHCHECK) against the real servers and against stand-ins
that accept but greet wrongly or not at all: exit 0 only for a real MU greeting in time, 1
otherwise, 2 for usage errors; it never trips a security line on the server."""

import os
import socket
import tempfile
import time

import ops_common as ops


class StandIn(ops.Listener):
    """Accepts and sends `greeting` (None: nothing), then holds the connection."""

    def __init__(self, greeting):
        self.greeting = greeting
        super().__init__(backlog=8)

    def on_accept(self, c):
        if self.greeting:
            try:
                c.sendall(self.greeting)
            except OSError:
                pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    a = ops.parse_args("--probe", "--connect-server", "--game-server")
    checks = []

    def check(name, args, want_code, want_text=None, env=None, max_seconds=None):
        start = time.monotonic()
        code, out = ops.run([a.probe] + args, timeout=30, env=env)
        took = time.monotonic() - start
        ops.log(f"$ muwarden-probe {' '.join(args)}\n  exit {code} in {took:.2f} s: "
                f"{out.strip()}")
        if code != want_code:
            ops.fail(f"{name}: exit {code}, expected {want_code}")
        if want_text and want_text not in out:
            ops.fail(f"{name}: output lacks {want_text!r}")
        if max_seconds is not None and took > max_seconds:
            ops.fail(f"{name}: took {took:.2f} s, expected at most {max_seconds} s")
        checks.append(name)

    db_dir = tempfile.mkdtemp(prefix="muwarden-ops-")
    with ops.Server(a.connect_server) as connect, \
            ops.Server(a.game_server, args=["--set",
                                            f"game.database={db_dir}/accounts.db"]) as game:
        cp, gp = f"127.0.0.1:{connect.port}", f"127.0.0.1:{game.port}"
        check("connect", [cp], 0, "OK, ConnectServer hello")
        check("game", [gp], 0, "OK, GameServer join")
        check("both --all", ["--all", cp, gp], 0)
        check("expect game at the ConnectServer", ["--expect", "game", cp], 1,
              "where a GameServer join was expected")
        check("expect connect at the GameServer", ["--expect", "connect", gp], 1)
        check("targets from MUWARDEN_PROBE_TARGETS", [], 0, "OK, GameServer join",
              env=dict(os.environ, MUWARDEN_PROBE_TARGETS=f"{gp}"))
        closed = f"127.0.0.1:{free_port()}"
        check("closed port", [closed], 1, "Connection refused", max_seconds=2)
        check("one of two up (any)", [closed, cp], 0)
        check("one of two up (--all)", ["--all", closed, cp], 1)
        wrong = StandIn(b"HTTP/1.0 200 OK\r\n\r\n")
        check("wrong greeting", [f"127.0.0.1:{wrong.port}"], 1, "not a MU greeting: 48 54 54 50 2F")
        silent = StandIn(None)
        check("silent server", ["--timeout", "0.5", f"127.0.0.1:{silent.port}"], 1,
              "no greeting within", max_seconds=2)
        check("bad target", ["localhost"], 2)
        check("bad --expect", ["--expect", "web", cp], 2)
        check("bad --timeout", ["--timeout", "0", cp], 2)
        wrong.close()
        silent.close()
        for server in (connect, game):
            lines = [l for l in server.log().splitlines() if "[security]" in l]
            if lines:
                ops.fail(f"the probe caused security lines: {lines}")
            if server.stop() != 0:
                ops.fail("server did not exit 0 on SIGTERM")
    ops.log(f"PASS: {len(checks)} probe checks; no security line caused")


if __name__ == "__main__":
    main()
