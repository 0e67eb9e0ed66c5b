#!/usr/bin/env python3
"""The connection-tracking recipe of SECURITY.md: config/conntrack/muwarden-notrack.nft loads
(`nft -c -f`), the sysctl file names keys this kernel has, and, in a network namespace of the
test's own (the host's tables are never touched), the tracked-connection count grows with a
loopback connect flood to port 44405 while a stateful rule makes the namespace track, and stops
growing under the same flood once the recipe is loaded. Skips, saying why, where nft is
missing or the kernel does not allow a network namespace or connection tracking."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import ops_common as ops

FLOOD = 300
PORT = 44405
# Makes the namespace track connections (a stateful rule, as Docker's iptables rules are).
TRACKING = """table inet muwarden_test_tracking {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established accept
  }
}
"""


def count():
    with open("/proc/sys/net/netfilter/nf_conntrack_count") as f:
        return int(f.read())


def flood(n, base):
    made = 0
    for i in range(n):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.bind((f"127.0.{base + i // 250}.{1 + i % 250}", 0))
            s.connect(("127.0.0.1", PORT))
            made += 1
        except OSError:
            pass
        s.close()
    return made


def inside(recipe):
    """Runs in the new namespace: prints what it measured; exit 77 to skip."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    done = subprocess.run(["nft", "-f", "-"], input=TRACKING, text=True, capture_output=True)
    if done.returncode != 0:
        if "syntax error" in done.stderr:
            ops.fail(f"the test's own rule does not parse: {done.stderr}")
        ops.skip(f"cannot load a stateful nftables rule in the namespace: {done.stderr.strip()}")
    if not os.path.exists("/proc/sys/net/netfilter/nf_conntrack_count"):
        ops.skip("this kernel has no connection tracking (no nf_conntrack_count)")
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", PORT))
    listener.listen(4096)

    def accept():
        while True:
            try:
                c, _ = listener.accept()
            except OSError:
                return
            c.close()
    threading.Thread(target=accept, daemon=True).start()

    c0 = count()
    made = flood(FLOOD, 20)
    c1 = count()
    ops.log(f"without the recipe: {made} connections, tracked {c0} -> {c1}")
    if made < FLOOD * 0.9:
        ops.fail(f"only {made} of {FLOOD} flood connections were made")
    if c1 - c0 < made * 0.9:
        ops.skip(f"the namespace does not track loopback connections ({c0} -> {c1}); "
                 "nothing to measure")
    done = subprocess.run(["nft", "-f", recipe], text=True, capture_output=True)
    if done.returncode != 0:
        ops.fail(f"nft -f {recipe}: {done.stderr}")
    made = flood(FLOOD, 40)
    c2 = count()
    ops.log(f"with the recipe: {made} connections, tracked {c1} -> {c2}")
    if made < FLOOD * 0.9:
        ops.fail(f"only {made} of {FLOOD} flood connections were made with the recipe")
    if c2 > c1 + 5:
        ops.fail(f"the tracked count still grew with the recipe loaded ({c1} -> {c2})")
    ops.log("ok: the tracked-connection count stops growing once the recipe is loaded")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--inside":
        inside(sys.argv[2])
        return
    a = ops.parse_args("--source-dir")
    recipe = os.path.join(a.source_dir, "config", "conntrack", "muwarden-notrack.nft")
    nft = shutil.which("nft")
    if nft is None:
        ops.skip("nft is missing (scripts/setup installs Debian's nftables)")
    code, out = ops.run([nft, "-c", "-f", recipe], timeout=30)
    if code != 0:
        if "Operation not permitted" in out:
            ops.skip(f"nft -c needs CAP_NET_ADMIN here: {out.strip()}")
        ops.fail(f"nft -c -f {recipe} exited {code}:\n{out}")
    ops.log(f"ok: nft -c -f {os.path.relpath(recipe, a.source_dir)} loads")
    sysctls = os.path.join(a.source_dir, "config", "conntrack", "90-muwarden-conntrack.conf")
    for line in ops.read_text(sysctls).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key = line.split("=")[0].strip()
        path = "/proc/sys/" + key.replace(".", "/")
        if os.path.exists("/proc/sys/net/netfilter") and not os.path.exists(path):
            ops.fail(f"{os.path.basename(sysctls)} names {key}, which this kernel lacks")
    ops.log("ok: every sysctl of the recipe exists on this kernel")
    unshare = shutil.which("unshare")
    if unshare is None:
        ops.skip("unshare is missing")
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        ops.skip(f"no network namespace allowed here: {probe.stderr.strip()}")
    done = subprocess.run([unshare, "--net", sys.executable, os.path.abspath(__file__),
                           "--inside", recipe], timeout=120)
    if done.returncode == ops.SKIP:
        sys.exit(ops.SKIP)
    if done.returncode != 0:
        ops.fail("the measurement in the namespace failed")
    ops.log("PASS: conntrack recipe")


if __name__ == "__main__":
    main()
