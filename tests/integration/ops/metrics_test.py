#!/usr/bin/env python3
"""/metrics (SPEC section 12) on the real servers: a scrape taken while the connection flood
script attacks the ConnectServer passes `promtool check metrics` (Debian's prometheus) and shows
the counters the attack moved (admitted, refused by conn_rate and flood_autoban, bans); every
series carries server="<name>". The endpoint cannot hurt the game port: while 16 slowloris
clients hold the metrics port and a 64 KiB request header is sent to it, a witness on the game
port is greeted at once, the oversized request is refused, a POST is refused, and the endpoint
still answers afterwards. The game-server adds muwarden_players_online and
muwarden_logins_total{result}."""

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import ops_common as ops

HELLO = bytes.fromhex("C1 04 00 01")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(binary, args, name):
    server = ops.Server(binary, args, name=name).start()
    m = re.search(r"metrics on \S+ port (\d+)", server.log())
    if not m:
        server.kill()
        ops.fail(f"{name} did not log its metrics port:\n{server.log()}")
    return server, int(m.group(1))


def scrape(port, timeout=5.0):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        return r.status, r.read().decode()


def value(text, series):
    """The value of one exact series line (name{labels}), or None."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def witness_greeted(port, source="127.0.40.250"):
    c = socket.socket()
    c.settimeout(2.0)
    c.bind((source, 0))
    start = time.monotonic()
    c.connect(("127.0.0.1", port))
    data = b""
    while len(data) < 4:
        chunk = c.recv(4 - len(data))
        if not chunk:
            break
        data += chunk
    c.close()
    return data == HELLO, time.monotonic() - start


def promtool_check(text):
    promtool = shutil.which("promtool")
    if promtool is None:
        return None
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def main():
    a = ops.parse_args("--source-dir", "--connect-server", "--game-server")
    if shutil.which("promtool") is None:
        ops.skip("promtool is missing (scripts/setup installs Debian's prometheus)")

    # 1. A scrape during the connection flood.
    mport = free_port()
    server, mport = start(a.connect_server,
                          ["--set", f"metrics.listen=127.0.0.1:{mport}",
                           "--set", "ratelimit.conn_rate_window=2",
                           "--set", "server.name=cs-metrics"], "connect-server")
    try:
        status, before = scrape(mport)
        if status != 200:
            ops.fail(f"GET /metrics answered {status}")
        flood = subprocess.Popen(
            [sys.executable, os.path.join(a.source_dir, "scripts", "attack-conn-flood"),
             "--port", str(server.port), "--max-seconds", "60", "--conn-rate-window", "2",
             "--sources", "20", "--attempts", "25"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        during = None
        end = time.monotonic() + 30
        while time.monotonic() < end and flood.poll() is None:
            _, text = scrape(mport)
            if (value(text, 'muwarden_connections_refused_total{server="cs-metrics",'
                            'reason="conn_rate"}') or 0) > 0:
                during = text
                break
            time.sleep(0.05)
        out, _ = flood.communicate(timeout=90)
        ops.log("attack-conn-flood: " + out.strip().splitlines()[-1] if out.strip() else "")
        if during is None:
            ops.fail("no scrape during the flood showed a conn_rate refusal")
        code, check = promtool_check(during)
        if code != 0:
            ops.fail(f"promtool check metrics on the scrape during the attack:\n{check}")
        ops.log("ok: promtool check metrics is clean on a scrape taken during the flood")
        _, after = scrape(mport)
        code, check = promtool_check(after)
        if code != 0:
            ops.fail(f"promtool check metrics after the attack:\n{check}")
        moved = {}
        for series in ['muwarden_connections_admitted_total{server="cs-metrics"}',
                       'muwarden_connections_refused_total{server="cs-metrics",reason="conn_rate"}',
                       'muwarden_connections_refused_total{server="cs-metrics",'
                       'reason="flood_autoban"}',
                       'muwarden_connections_refused_total{server="cs-metrics",reason="banned"}',
                       'muwarden_bans{server="cs-metrics"}']:
            b, v = value(before, series) or 0, value(after, series)
            if v is None:
                ops.fail(f"{series} missing:\n{after}")
            moved[series] = (b, v)
            ops.log(f"  {series}: {b:g} -> {v:g}")
        for series, (b, v) in moved.items():
            if "banned" in series and "reason" in series:
                continue  # refused as banned only when the flood outlives its autoban
            if v <= b:
                ops.fail(f"the attack did not move {series}")
        for name in ["muwarden_connections_refused_total", "muwarden_connections_evicted_total",
                     "muwarden_connections", "muwarden_known_blocks",
                     "muwarden_frames_refused_total", "muwarden_packet_rate_exceeded_total",
                     "muwarden_timeouts_total", "muwarden_bans", "muwarden_workers",
                     "muwarden_build_info"]:
            if f"# TYPE {name} " not in after:
                ops.fail(f"no {name} family:\n{after}")
        for reason in ["banned", "conn_rate", "flood_autoban", "multiclient", "server_full",
                       "table_full"]:
            if f'reason="{reason}"' not in after:
                ops.fail(f"no refused series for reason {reason}")
        for line in after.splitlines():
            # Every series, the HTTP layer's own included (SPEC section 12).
            if line and not line.startswith("#") and 'server="cs-metrics"' not in line:
                ops.fail(f"a series without the server label: {line}")
        ops.log("ok: the flood moved admitted, conn_rate, flood_autoban and bans; every "
                "series has server=")

        # 2. The metrics port under abuse; the game port unharmed.
        big = socket.socket()
        big.settimeout(5)
        big.connect(("127.0.0.1", mport))
        t0 = time.monotonic()
        try:
            big.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 +
                        b"\r\n\r\n")
        except OSError:
            pass  # closed while sending: refused
        reply = b""
        try:
            while len(reply) < 100000:
                chunk = big.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            pass
        big.close()
        took = time.monotonic() - t0
        if b"# TYPE" in reply:
            ops.fail("a 64 KiB request header was served")
        if took > 2.0 or not (reply == b"" or reply.startswith((b"HTTP/1.0 4", b"HTTP/1.1 4"))):
            ops.fail(f"a 64 KiB request header got {reply[:40]!r} after {took:.2f} s")
        ops.log(f"ok: 64 KiB request header refused in {took:.2f} s "
                f"({reply.split(b' ', 2)[1].decode() if reply.startswith(b'HTTP') else 'closed'})")
        slow = []
        for _ in range(16):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", mport))
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
            except OSError:
                pass
            slow.append(s)
        greeted, took = witness_greeted(server.port)
        if not greeted or took > 1.0:
            ops.fail(f"the game-port witness was not greeted at once ({took:.2f} s) while "
                     "slowloris held the metrics port")
        ops.log(f"ok: game-port witness greeted in {took * 1000:.0f} ms while 16 slowloris "
                "clients held the metrics port")
        greeted, took = witness_greeted(server.port, "127.0.40.251")
        if not greeted or took > 1.0:
            ops.fail(f"the witness was not greeted after the oversized request ({took:.2f} s)")
        for s in slow:
            s.close()
        req = urllib.request.Request(f"http://127.0.0.1:{mport}/metrics", data=b"x",
                                     method="POST")
        try:
            urllib.request.urlopen(req, timeout=5)
            ops.fail("POST /metrics was served")
        except urllib.error.HTTPError as e:
            if e.code != 405:
                ops.fail(f"POST /metrics answered {e.code}, not 405")
        ops.log("ok: POST refused with 405")
        end = time.monotonic() + 10
        while True:
            try:
                status, _ = scrape(mport, timeout=3)
                break
            except OSError:
                if time.monotonic() > end:
                    ops.fail("the metrics endpoint did not answer after the abuse")
                time.sleep(0.1)
        ops.log("ok: /metrics answers again after the abuse")
        code = server.stop()
        if code != 0:
            ops.fail(f"connect-server exited {code}")
    finally:
        server.kill()

    # 3. The game-server's own series.
    db = os.path.join(ops.tempfile.mkdtemp(prefix="muwarden-ops-db-"), "accounts.db")
    game, gport = start(a.game_server, ["--set", f"metrics.listen=127.0.0.1:{free_port()}",
                                        "--set", f"game.database={db}"], "game-server")
    try:
        _, text = scrape(gport)
        code, check = promtool_check(text)
        if code != 0:
            ops.fail(f"promtool on the game-server's scrape:\n{check}")
        for series in ['muwarden_players_online{server="GameServer"} 0',
                       'muwarden_logins_total{server="GameServer",result="ok"} 0',
                       'muwarden_logins_total{server="GameServer",result="failed"} 0']:
            if series not in text:
                ops.fail(f"game-server scrape lacks {series}:\n{text}")
        ops.log("ok: game-server serves players_online and logins_total{result}")
        if game.stop() != 0:
            ops.fail("game-server did not exit 0")
    finally:
        game.kill()
    ops.log("PASS: metrics")


if __name__ == "__main__":
    main()
