#!/usr/bin/env python3
"""The [control] socket and muwarden-ctl over the real socket of a running ConnectServer:
the socket is mode 0600; `ban` refuses the address at once and is in the ban file (and the
log) before ctl returns, and survives a restart; `unban` serves it again; `kick` closes every
connection of the block within 1 s while a witness stays connected; `status` and `bans` answer;
a bad command, a missing argument and an unknown flag exit 2 with a clear message; a refused
command (unban of an address not banned) exits 1 with the reason; an overlong command line is
refused without hurting the next command. Without the socket (control.socket empty), ctl
exits 1 naming the path."""

import os
import socket
import stat
import time

import ops_common as ops

HELLO = bytes.fromhex("C1 04 00 01")


def greeted(port, source, timeout=2.0):
    """True when a connection from `source` gets the hello; False when refused."""
    c = socket.socket()
    c.settimeout(timeout)
    c.bind((source, 0))
    try:
        c.connect(("127.0.0.1", port))
        data = c.recv(4)
        return data == HELLO
    except OSError:
        return False
    finally:
        c.close()


def hold(port, source):
    c = socket.socket()
    c.settimeout(2.0)
    c.bind((source, 0))
    c.connect(("127.0.0.1", port))
    if c.recv(4) != HELLO:
        ops.fail(f"no hello for {source}")
    return c


def closed_within(c, seconds):
    c.settimeout(seconds)
    t0 = time.monotonic()
    try:
        data = c.recv(16)
        return data == b"", time.monotonic() - t0
    except ConnectionResetError:
        return True, time.monotonic() - t0
    except socket.timeout:
        return False, time.monotonic() - t0


def main():
    a = ops.parse_args("--connect-server", "--ctl")
    d = ops.tempfile.mkdtemp(prefix="muwarden-ops-ctl-")
    sock = os.path.join(d, "cs.sock")
    bans = os.path.join(d, "bans.txt")
    args = ["--set", f"control.socket={sock}", "--ban-file", bans,
            "--set", "server.handshake_timeout=60",
            # kick is shown on three silent sockets of one block: above the
            # default cap of pending sockets per block (SPEC 4a), which
            # would refuse the third before kick could close it.
            "--set", "server.pending_per_ip=4"]

    def ctl(*words, expect):
        code, out = ops.run([a.ctl, "--socket", sock] + list(words), timeout=15)
        ops.log(f"$ muwarden-ctl {' '.join(words)} -> {code}: {out.strip()[:200]}")
        if code != expect:
            ops.fail(f"muwarden-ctl {' '.join(words)} exited {code}, expected {expect}")
        return out

    server = ops.Server(a.connect_server, args).start()
    try:
        mode = stat.S_IMODE(os.stat(sock).st_mode)
        if not stat.S_ISSOCK(os.stat(sock).st_mode) or mode != 0o600:
            ops.fail(f"{sock} has mode {oct(mode)}, not a 0600 socket")
        ops.log("ok: control socket is mode 0600")

        attacker, witness = "127.0.50.1", "127.0.50.2"
        if not greeted(server.port, attacker):
            ops.fail("the attacker address is refused before any ban")
        out = ctl("ban", attacker, "--for", "600", "--reason", "seen flooding", expect=0)
        if "banned 127.0.50.1" not in out:
            ops.fail(f"ban reply does not name the block: {out}")
        text = ops.read_text(bans)
        if "127.0.50.1" not in text or "reason=seen flooding" not in text:
            ops.fail(f"the ban is not in the ban file when ctl returned:\n{text}")
        if not server.wait_for_log("Banned by operator: 127.0.50.1", 2):
            ops.fail("the operator ban was not logged")
        if greeted(server.port, attacker):
            ops.fail("a banned address was greeted")
        if not server.wait_for_log("Rejected banned IP: 127.0.50.1", 2):
            ops.fail("the banned address was not refused as banned")
        if not greeted(server.port, witness):
            ops.fail("the witness was refused")
        ops.log("ok: ban -> refused, persisted, logged; the witness is served")
        out = ctl("bans", expect=0)
        if "127.0.50.1" not in out:
            ops.fail(f"bans does not list the ban: {out}")
        out = ctl("status", expect=0)
        if "server ConnectServer" not in out or "refused_banned 1" not in out:
            ops.fail(f"status lacks the server name or the banned count: {out}")

        # The ban survives a restart (it is in the file).
        if server.stop() != 0:
            ops.fail("connect-server did not exit 0")
        server = ops.Server(a.connect_server, args).start()
        if greeted(server.port, attacker):
            ops.fail("the operator ban did not survive a restart")
        ops.log("ok: the ban survives a restart")

        ctl("unban", attacker, expect=0)
        if not greeted(server.port, attacker):
            ops.fail("an unbanned address is still refused")
        if "127.0.50.1" in ops.read_text(bans):
            ops.fail("the unbanned block is still in the ban file")
        ops.log("ok: unban -> served again, gone from the file")
        out = ctl("unban", attacker, expect=1)
        if "not banned" not in out:
            ops.fail(f"unban of an address not banned does not say why: {out}")

        victims = [hold(server.port, "127.0.51.1") for _ in range(3)]
        other = hold(server.port, "127.0.51.2")
        t0 = time.monotonic()
        out = ctl("kick", "127.0.51.1", expect=0)
        if "kicked 3" not in out:
            ops.fail(f"kick did not count 3 connections: {out}")
        for v in victims:
            closed, _ = closed_within(v, max(0.05, 1.0 - (time.monotonic() - t0)))
            if not closed:
                ops.fail("a kicked connection was still open 1 s after kick")
        took = time.monotonic() - t0
        still, _ = closed_within(other, 0.2)
        if still:
            ops.fail("kick closed a connection of another address")
        ops.log(f"ok: kick closed 3 connections in {took * 1000:.0f} ms; the other stays")
        for v in victims + [other]:
            v.close()

        for words, want in [(["frobnicate"], "unknown command 'frobnicate'"),
                            (["ban"], "usage"),
                            (["ban", "not-an-ip"], "usage"),
                            (["ban", "127.0.52.1", "--for", "soon"], "--for takes whole"),
                            (["kick"], "kick takes ADDR|CIDR")]:
            out = ctl(*words, expect=2)
            if want not in out:
                ops.fail(f"muwarden-ctl {' '.join(words)} does not say '{want}': {out}")
        code, out = ops.run([a.ctl, "status"], timeout=15)
        if code != 2 or "--socket PATH or --config FILE" not in out:
            ops.fail(f"ctl without a socket: exit {code}: {out}")
        ops.log("ok: bad commands exit 2 with the reason")

        # A line past the cap is refused; the server takes the next command.
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(5)
        c.connect(sock)
        try:
            c.sendall(b"ban " + b"1" * 5000 + b"\n")
        except OSError:
            pass
        reply = c.recv(4096)
        c.close()
        if not reply.startswith(b"error command longer than 1024 bytes"):
            ops.fail(f"an overlong line got {reply!r}")
        # A client that sends nothing is dropped at the deadline.
        idle = socket.socket(socket.AF_UNIX)
        idle.settimeout(5)
        idle.connect(sock)
        t0 = time.monotonic()
        reply = idle.recv(4096)
        idle.close()
        if not reply.startswith(b"error no complete command line in time") or \
                time.monotonic() - t0 > 4:
            ops.fail(f"a silent client got {reply!r} after {time.monotonic() - t0:.1f} s")
        ctl("status", expect=0)
        ops.log("ok: overlong and silent clients are refused; the next command works")
        if server.stop() != 0:
            ops.fail("connect-server did not exit 0")
        if os.path.exists(sock):
            ops.fail("the control socket was left behind after a clean stop")
    finally:
        server.kill()

    off = ops.Server(a.connect_server, ["--set", "control.socket="]).start()
    try:
        code, out = ops.run([a.ctl, "--socket", sock, "status"], timeout=15)
        if code != 1 or sock not in out:
            ops.fail(f"ctl against no socket: exit {code}: {out}")
    finally:
        off.kill()
    ops.log("PASS: control socket")


if __name__ == "__main__":
    main()
