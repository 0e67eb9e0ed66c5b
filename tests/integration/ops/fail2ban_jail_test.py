#!/usr/bin/env python3
"""The shipped jail loads in fail2ban: a copy of this host's /etc/fail2ban with the muwarden
filter and jail added (log paths pointed at temporary files) is dumped with
`fail2ban-client -d`, which parses every file the way the daemon does; the muwarden jail must
be enabled on both ports with the filter's regex, the date pattern and the limits."""

import os
import shutil
import tempfile

import ops_common as ops


def main():
    a = ops.parse_args("--source-dir")
    client = shutil.which("fail2ban-client")
    if client is None or not os.path.isfile("/etc/fail2ban/jail.conf"):
        ops.skip("fail2ban is not installed (scripts/setup installs Debian's fail2ban)")
    tmp = tempfile.mkdtemp(prefix="muwarden-ops-f2b-")
    conf = os.path.join(tmp, "fail2ban")
    shutil.copytree("/etc/fail2ban", conf, symlinks=True)
    # Only our jail: the host's own jails may name logs this machine does not have.
    for name in os.listdir(os.path.join(conf, "jail.d")):
        os.remove(os.path.join(conf, "jail.d", name))
    src = os.path.join(a.source_dir, "config", "fail2ban")
    shutil.copy(os.path.join(src, "filter.d", "muwarden.conf"), os.path.join(conf, "filter.d"))
    logs = os.path.join(tmp, "logs")
    os.makedirs(logs)
    with open(os.path.join(src, "jail.d", "muwarden.local"), encoding="utf-8") as f:
        jail = f.read().replace("/var/log/muwarden/", logs + "/")
    with open(os.path.join(conf, "jail.d", "muwarden.local"), "w", encoding="utf-8") as f:
        f.write(jail)
    for name in ("connect-server.log", "game-server.log"):
        open(os.path.join(logs, name), "w").close()
    code, out = ops.run([client, "-c", conf, "-d"], timeout=120)
    if code != 0:
        ops.fail(f"fail2ban-client -d exited {code}:\n{out}")
    lines = [l.strip() for l in out.splitlines() if "'muwarden'" in l]
    for l in lines[:12]:
        ops.log("  " + l[:160])
    want = [
        "['add', 'muwarden',",
        "['set', 'muwarden', 'addfailregex', '^\\\\s*WARN \\\\[security\\\\]",
        "['set', 'muwarden', 'datepattern', '{^LN-BEG}%Y-%m-%dT%H:%M:%S\\\\.%f%z']",
        "['set', 'muwarden', 'maxretry', 5]",
        "['set', 'muwarden', 'findtime', '10m']",
        "['set', 'muwarden', 'bantime', '1h']",
        f"['set', 'muwarden', 'addlogpath', '{logs}/connect-server.log', 'head']",
        f"['set', 'muwarden', 'addlogpath', '{logs}/game-server.log', 'head']",
        "['port', '44405,55901']",
        "['start', 'muwarden']",
    ]
    for w in want:
        if w not in out:
            ops.fail(f"the dumped configuration lacks {w}")
        ops.log(f"ok: {w}")
    ops.log(f"PASS: the muwarden jail loads with {len(want)} expected settings")


if __name__ == "__main__":
    main()
