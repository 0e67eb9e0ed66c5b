#!/usr/bin/env python3
"""The systemd units in config/systemd/: the hardening and restart settings the operator guide
promises, paths consistent with the fail2ban jail; `systemd-analyze verify` and the offline
security score when systemd-analyze is present; and each unit's exact ExecStart command line,
run here with the built binaries and temporary state/log folders: it starts, ExecReload's
SIGHUP reloads the ban file, and SIGTERM stops it with exit 0."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

import ops_common as ops

UNITS = {"muwarden-connect.service": "connect-server", "muwarden-game.service": "game-server"}
MAX_EXPOSURE = 2.0


def parse_unit(path):
    """{key: [values]} over all sections, continuations joined."""
    values = {}
    pending = ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip()[0] in "#;["):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            line = pending + line
            pending = ""
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def main():
    a = ops.parse_args("--source-dir", optional=("--bin-dir",))
    unit_dir = os.path.join(a.source_dir, "config", "systemd")
    with open(os.path.join(a.source_dir, "config", "fail2ban", "jail.d", "muwarden.local"),
              encoding="utf-8") as f:
        jail = f.read()
    checks = 0
    for unit, binary in UNITS.items():
        path = os.path.join(unit_dir, unit)
        u = parse_unit(path)

        def need(condition, message):
            nonlocal checks
            if not condition:
                ops.fail(f"{unit}: {message}")
            checks += 1
            ops.log(f"ok: {unit}: {message}")

        one = lambda key: (u.get(key) or [""])[-1]  # noqa: E731
        need(one("User") not in ("", "root", "0"), f"runs as User={one('User')}, not root")
        need(one("Restart") == "on-failure", "Restart=on-failure")
        need("2" in one("RestartPreventExitStatus").split(),
             "no restart loop on a settings error (exit 2)")
        need(one("LimitNOFILE").isdigit() and int(one("LimitNOFILE")) >= 65536,
             f"LimitNOFILE={one('LimitNOFILE')}")
        need(one("NoNewPrivileges") == "yes", "NoNewPrivileges=yes")
        need(one("ProtectSystem") == "strict", "ProtectSystem=strict")
        need(one("StateDirectory") == "muwarden" and one("LogsDirectory") == "muwarden",
             "StateDirectory and LogsDirectory give the only writable folders")
        need(one("CapabilityBoundingSet") == "", "no capabilities")
        need(re.fullmatch(r"/bin/kill -HUP \$MAINPID", one("ExecReload")) is not None,
             "ExecReload sends SIGHUP (ban file reload)")
        need(one("KillSignal") in ("", "SIGTERM"), "stops with SIGTERM")
        argv = shlex.split(one("ExecStart"))
        need(argv[0] == f"/usr/local/bin/{binary}", f"ExecStart runs {binary}")
        flags = dict(zip(argv[1::2], argv[2::2]))
        need(flags.get("--config") == f"/etc/muwarden/{binary}.ini", "reads /etc/muwarden")
        need(flags.get("--ban-file", "").startswith("/var/lib/muwarden/"),
             "ban file in the StateDirectory (autobans are written)")
        log_file = flags.get("--log-file", "")
        need(log_file.startswith("/var/log/muwarden/"), "log file in the LogsDirectory")
        need(log_file in jail, "the fail2ban jail reads this log file")
        if binary == "game-server":
            need("game.database=/var/lib/muwarden/accounts.db" in argv,
                 "account database in the StateDirectory")

        # The same command line, run here.
        tmp = tempfile.mkdtemp(prefix="muwarden-ops-systemd-")
        os.makedirs(os.path.join(tmp, "state"))
        os.makedirs(os.path.join(tmp, "logs"))
        bin_dir = a.bin_dir or os.path.join(os.getcwd(), "bin")
        mapped = []
        for arg in argv:
            arg = arg.replace("/usr/local/bin/", bin_dir + "/")
            arg = arg.replace("/etc/muwarden/", os.path.join(a.source_dir, "config") + "/")
            arg = arg.replace("/var/lib/muwarden/", os.path.join(tmp, "state") + "/")
            arg = arg.replace("/var/log/muwarden/", os.path.join(tmp, "logs") + "/")
            mapped.append(arg)
        # The shipped metrics port is fixed: off here, where tests run side by side.
        mapped += ["--bind", "127.0.0.1", "--port", "0", "--set", "metrics.listen="]
        ban_file = mapped[mapped.index("--ban-file") + 1]
        with open(ban_file, "w", encoding="utf-8") as f:
            f.write("192.0.2.1 reason=test\n")
        log_path = mapped[mapped.index("--log-file") + 1]
        proc = subprocess.Popen(mapped, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            end = time.monotonic() + 15
            text = ""
            while time.monotonic() < end and "listening on" not in text:
                time.sleep(0.05)
                text = open(log_path, encoding="utf-8").read() if os.path.exists(log_path) else ""
            need("listening on" in text, "the ExecStart command line starts the server")
            with open(ban_file, "a", encoding="utf-8") as f:
                f.write("192.0.2.2 reason=test\n")
            proc.send_signal(signal.SIGHUP)
            end = time.monotonic() + 5
            while time.monotonic() < end and "reloaded 2 entries" not in text:
                time.sleep(0.05)
                text = open(log_path, encoding="utf-8").read()
            need("reloaded 2 entries" in text, "ExecReload's SIGHUP reloads the ban file")
            proc.send_signal(signal.SIGTERM)
            need(proc.wait(15) == 0, "SIGTERM stops it with exit 0")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

        analyze = shutil.which("systemd-analyze")
        if analyze:
            local = os.path.join(tmp, unit)
            with open(path, encoding="utf-8") as f:
                text = f.read().replace("/usr/local/bin/", bin_dir + "/")
            with open(local, "w", encoding="utf-8") as f:
                f.write(text)
            code, out = ops.run([analyze, "verify", local], timeout=60)
            need(code == 0 and not out.strip(), f"systemd-analyze verify is clean {out.strip()}")
            code, out = ops.run([analyze, "security", "--offline=true", local], timeout=60)
            m = re.search(r"Overall exposure level for \S+: ([\d.]+)", out)
            if m:
                need(float(m.group(1)) <= MAX_EXPOSURE,
                     f"systemd-analyze security exposure {m.group(1)} <= {MAX_EXPOSURE}")
            else:
                ops.log(f"note: no offline security score from this systemd: {out[-200:]}")
        else:
            ops.log("note: systemd-analyze not installed; verify and security score skipped")
    ops.log(f"PASS: {checks} systemd unit checks")


if __name__ == "__main__":
    main()
