#!/usr/bin/env python3
"""300 IPv6 /64s of one /48 flood the real ConnectServer (SPEC 4a): they are limited as one
prefix ("Prefix rate limited"), and once ratelimit.prefix_ban_threshold of them are autobanned
the /48 is banned as one (a CIDR line with reason=prefix autoban in the ban file, the
"Auto-banned flooding prefix: 2001:db8:1::/48" line), while a witness from another /48 is
served. The addresses live on lo inside a network namespace this test creates (unshare -n),
from 2001:db8::/32 (documentation space). Run again with the prefix limits set very high, the
attack script must say NOT DEFENDED. Exit 77 (skipped, with the reason) where unshare is not
permitted."""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

PREFIX = "2001:db8:1::/48"
WITNESS = "2001:db8:2::1"
BLOCKS = 300


def log(message):
    print(message, flush=True)


def fail(message):
    log(f"FAIL: {message}")
    sys.exit(1)


def inside_namespace():
    return os.environ.get("MUWARDEN_IN_NETNS") == "1"


def reexec_in_namespace():
    env = dict(os.environ, MUWARDEN_IN_NETNS="1")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        log(f"SKIP: unshare -n is not permitted here: {probe.stderr.strip()}")
        sys.exit(77)
    r = subprocess.run(["unshare", "-n", "--", sys.executable, __file__] + sys.argv[1:], env=env)
    sys.exit(r.returncode)


def set_up_addresses():
    commands = ["link set lo up"]
    for n in range(1, BLOCKS + 2):
        commands.append(f"addr add 2001:db8:1:{n:x}::1/128 dev lo nodad")
    commands.append(f"addr add {WITNESS}/128 dev lo nodad")
    r = subprocess.run(["ip", "-batch", "-"], input="\n".join(commands) + "\n",
                       capture_output=True, text=True)
    if r.returncode != 0:
        log(f"SKIP: cannot add addresses in the namespace: {r.stderr.strip()}")
        sys.exit(77)


def start_server(binary, workdir, settings):
    log_path = os.path.join(workdir, "server.log")
    args = [binary, "--bind", "::", "--port", "0", "--log-file", log_path,
            "--ban-file", os.path.join(workdir, "bans.txt")]
    for s in settings:
        args += ["--set", s]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    end = time.monotonic() + 15
    while time.monotonic() < end:
        text = open(log_path).read() if os.path.exists(log_path) else ""
        m = re.search(r"listening on \S+ port (\d+)", text)
        if m:
            return proc, int(m.group(1)), log_path
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    fail(f"the server did not start:\n{text}")


def stop(proc):
    proc.terminate()
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return -1


def run_attack(source_dir, port):
    script = os.path.join(source_dir, "scripts", "attack-prefix-flood")
    command = [sys.executable, script, "--host", "::1", "--port", str(port),
               "--prefix-v6", PREFIX, "--blocks", str(BLOCKS), "--attempts", "6",
               "--witness-source", WITNESS, "--max-seconds", "60"]
    log("$ scripts/attack-prefix-flood " + " ".join(command[2:]))
    start = time.monotonic()
    r = subprocess.run(command, capture_output=True, text=True, timeout=120)
    for line in r.stdout.rstrip().splitlines():
        log("  | " + line)
    log(f"  ({time.monotonic() - start:.1f} s)")
    return r.returncode


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--source-dir", required=True)
    p.add_argument("--connect-server", required=True)
    a = p.parse_args()
    if not inside_namespace():
        reexec_in_namespace()
    set_up_addresses()

    workdir = tempfile.mkdtemp(prefix="muwarden-prefix-v6-")
    proc, port, log_path = start_server(a.connect_server, workdir, [])
    code = run_attack(a.source_dir, port)
    time.sleep(0.3)
    server_log = open(log_path).read()
    status = stop(proc)
    bans = open(os.path.join(workdir, "bans.txt")).read() \
        if os.path.exists(os.path.join(workdir, "bans.txt")) else ""
    if code != 0:
        fail(f"defence ON: the script exited {code}, expected 0\n{server_log[-4000:]}")
    if "Prefix rate limited: 2001:db8:1:" not in server_log:
        fail("defence ON: no 'Prefix rate limited' line for the /48")
    if f"Auto-banned flooding prefix: {PREFIX}" not in server_log:
        fail(f"defence ON: no 'Auto-banned flooding prefix: {PREFIX}' line")
    ban_lines = [l for l in bans.splitlines() if l.startswith(PREFIX + " ")]
    if not ban_lines or "reason=prefix autoban" not in ban_lines[0]:
        fail(f"defence ON: the ban file has no prefix ban line for {PREFIX}:\n{bans}")
    if WITNESS in "".join(l for l in server_log.splitlines() if "[security]" in l):
        fail("the witness appears in a security line")
    if status != 0:
        fail(f"the server exited {status} on SIGTERM")
    log(f"defence ON: DEFENDED; ban file line: {ban_lines[0]}")

    workdir = tempfile.mkdtemp(prefix="muwarden-prefix-v6-off-")
    proc, port, log_path = start_server(a.connect_server, workdir,
                                        ["ratelimit.prefix_conn_rate_limit=65536",
                                         "ratelimit.prefix_ban_threshold=1000"])
    code = run_attack(a.source_dir, port)
    stop(proc)
    for line in open(log_path).read().splitlines():
        if "[security]" in line and "2001:db8:1:12d::1" in line:
            log("  server: " + line)
    if code != 1:
        fail(f"defence OFF: the script exited {code}, expected 1 (NOT DEFENDED)")
    log("defence OFF: NOT DEFENDED, as expected")
    log("1 passed, 0 failed")


if __name__ == "__main__":
    main()
