#!/usr/bin/env python3
"""The shipped jail bans: a real connect-server is attacked over loopback (oversize headers
from one address) beside a well-behaved witness on another address, then fail2ban-server runs
with a copy of this host's /etc/fail2ban plus the shipped filter and jail. Only two things are
changed in the copy, both because this runs on loopback: ignoreip (the shipped jail never bans
127.0.0.0/8) and the ban action, a test action that records each ban in a file instead of
touching the host's firewall. `fail2ban-client status muwarden` must list the attacker as
banned and not the witness, and the test action must have recorded the attacker only."""

import os
import shutil
import socket
import time

import ops_common as ops

ATTACKER = "127.0.61.1"
WITNESS = "127.0.61.2"
HELLO = bytes.fromhex("C1 04 00 01")

RECORD_ACTION = """[Definition]
actionstart = touch %(record)s
actionstop =
actioncheck =
actionban = echo "ban <ip>" >> %(record)s
actionunban = echo "unban <ip>" >> %(record)s
"""


def attack(port, times):
    for _ in range(times):
        s = socket.socket()
        s.settimeout(2)
        s.bind((ATTACKER, 0))
        try:
            s.connect(("127.0.0.1", port))
            s.recv(4)
            s.sendall(bytes.fromhex("C2 03 E8 F4 06"))  # declares 1000 bytes, cap 255
            s.recv(16)
        except OSError:
            pass
        s.close()


def witness(port):
    s = socket.socket()
    s.settimeout(2)
    s.bind((WITNESS, 0))
    s.connect(("127.0.0.1", port))
    ok = s.recv(4) == HELLO
    s.sendall(bytes.fromhex("C1 04 F4 06"))
    ok = ok and len(s.recv(64)) > 4
    s.close()
    return ok


def main():
    a = ops.parse_args("--source-dir", "--connect-server")
    client = shutil.which("fail2ban-client")
    if client is None or shutil.which("fail2ban-server") is None or \
            not os.path.isfile("/etc/fail2ban/jail.conf"):
        ops.skip("fail2ban is not installed (scripts/setup installs Debian's fail2ban)")
    tmp = ops.tempfile.mkdtemp(prefix="muwarden-ops-f2bban-")
    logs = os.path.join(tmp, "logs")
    os.makedirs(logs)
    log_file = os.path.join(logs, "connect-server.log")
    open(os.path.join(logs, "game-server.log"), "w").close()

    server = ops.Server(a.connect_server, name="connect-server", log_dir=logs).start()
    try:
        attack(server.port, 8)
        if not witness(server.port):
            ops.fail("the witness was not served during the attack")
        if not server.wait_for_log(f"Oversize packet: {ATTACKER}", 5):
            ops.fail(f"the server did not log the attack:\n{server.log()}")
        if server.stop() != 0:
            ops.fail("connect-server did not exit 0")
    finally:
        server.kill()
    lines = [l for l in ops.read_text(log_file).splitlines() if "[security]" in l]
    ops.log(f"the server wrote {len(lines)} security lines, e.g. {lines[0] if lines else ''}")

    conf = os.path.join(tmp, "fail2ban")
    shutil.copytree("/etc/fail2ban", conf, symlinks=True)
    for name in os.listdir(os.path.join(conf, "jail.d")):
        os.remove(os.path.join(conf, "jail.d", name))
    src = os.path.join(a.source_dir, "config", "fail2ban")
    shutil.copy(os.path.join(src, "filter.d", "muwarden.conf"), os.path.join(conf, "filter.d"))
    with open(os.path.join(src, "jail.d", "muwarden.local"), encoding="utf-8") as f:
        jail = f.read().replace("/var/log/muwarden/", logs + "/")
    with open(os.path.join(conf, "jail.d", "muwarden.local"), "w", encoding="utf-8") as f:
        f.write(jail)
    record = os.path.join(tmp, "bans.recorded")
    with open(os.path.join(conf, "action.d", "muwarden-record.conf"), "w") as f:
        f.write(RECORD_ACTION % {"record": record})
    # Loaded after muwarden.local: the two loopback-only changes.
    with open(os.path.join(conf, "jail.d", "muwarden.test.local"), "w") as f:
        f.write("[muwarden]\nignoreip =\naction = muwarden-record\nbackend = polling\n")
    run_dir = os.path.join(tmp, "run")
    os.makedirs(run_dir)
    sock, pid = os.path.join(run_dir, "f2b.sock"), os.path.join(run_dir, "f2b.pid")
    with open(os.path.join(conf, "fail2ban.local"), "w") as f:
        f.write(f"[Definition]\nlogtarget = {tmp}/fail2ban.log\nsocket = {sock}\n"
                f"pidfile = {pid}\ndbfile = :memory:\n")
    base = [client, "-c", conf, "-s", sock, "-p", pid]
    code, out = ops.run(base + ["-x", "start"], timeout=60)
    if code != 0:
        ops.fail(f"fail2ban-client start exited {code}:\n{out}\n"
                 f"{ops.read_text(os.path.join(tmp, 'fail2ban.log'))}")
    try:
        status = ""
        end = time.monotonic() + 30
        while time.monotonic() < end:
            code, status = ops.run(base + ["status", "muwarden"], timeout=30)
            if code == 0 and ATTACKER in status:
                break
            time.sleep(0.3)
        ops.log(status.strip())
        banned = ""
        for line in status.splitlines():
            if "Banned IP list:" in line:
                banned = line.split("Banned IP list:", 1)[1].split()
        if ATTACKER not in banned:
            ops.fail(f"fail2ban did not ban the attacker {ATTACKER}:\n{status}\n"
                     f"{ops.read_text(os.path.join(tmp, 'fail2ban.log'))[-3000:]}")
        if WITNESS in banned:
            ops.fail(f"fail2ban banned the witness {WITNESS}")
        end = time.monotonic() + 10
        while time.monotonic() < end and f"ban {ATTACKER}" not in ops.read_text(record):
            time.sleep(0.1)
        recorded = ops.read_text(record)
        if f"ban {ATTACKER}" not in recorded or WITNESS in recorded:
            ops.fail(f"the ban action recorded {recorded!r}")
        ops.log(f"ok: the shipped jail banned {ATTACKER} (action ran: {recorded.strip()}); "
                f"the witness {WITNESS} is not banned")
    finally:
        ops.run(base + ["stop"], timeout=60)
    ops.log("PASS: fail2ban jail bans the attacker and not the witness")


if __name__ == "__main__":
    main()
