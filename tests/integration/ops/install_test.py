#!/usr/bin/env python3
"""`cmake --install` of this build, staged with DESTDIR so nothing outside a temporary folder is
touched, for the default prefix /usr/local and for /opt/muwarden: the binaries, the example
configs, the fail2ban filter and jail and the systemd units land in the usual places (/etc for
the /usr and /usr/local prefixes, where fail2ban and operators look), the units name the
prefix's binaries and configs, the installed configs pass --check-config with the installed
binary, and a second install keeps an operator's edited config and jail while it updates the
filter."""

import os
import shutil
import tempfile

import ops_common as ops


def install(cmake, build_dir, prefix, destdir):
    env = dict(os.environ, DESTDIR=destdir)
    code, out = ops.run([cmake, "--install", build_dir, "--prefix", prefix], timeout=300,
                        env=env)
    if code != 0:
        ops.fail(f"cmake --install --prefix {prefix} exited {code}:\n{out}")
    return out


def check_prefix(cmake, a, prefix, checks):
    root = tempfile.mkdtemp(prefix="muwarden-ops-install-")
    install(cmake, a.build_dir, prefix, root)
    etc = "/etc" if prefix in ("/usr", "/usr/local") else prefix + "/etc"

    def need(path, contains=None):
        full = root + path
        if not os.path.isfile(full):
            ops.fail(f"--prefix {prefix}: not installed: {path}\ninstalled:\n" + "\n".join(
                os.path.join(d, f)[len(root):] for d, _, fs in os.walk(root) for f in fs))
        if contains is not None:
            with open(full, encoding="utf-8") as f:
                if contains not in f.read():
                    ops.fail(f"--prefix {prefix}: {path} lacks {contains!r}")
        checks.append(path)
        ops.log(f"ok: {path}" + (f" contains {contains!r}" if contains else ""))
        return full

    for binary in ("connect-server", "game-server", "muwarden-probe"):
        if not os.access(need(f"{prefix}/bin/{binary}"), os.X_OK):
            ops.fail(f"{prefix}/bin/{binary} is not executable")
    inis = [f for f in ("connect-server.ini", "game-server.ini")
            if os.path.exists(os.path.join(a.source_dir, "config", f))]
    for ini in inis:
        need(f"{etc}/muwarden/{ini}")
        need(f"{prefix}/share/doc/muwarden/examples/{ini}")
    if os.path.exists(os.path.join(a.source_dir, "config", "bans.txt")):
        need(f"{prefix}/share/doc/muwarden/examples/bans.txt")
    filter_path = need(f"{etc}/fail2ban/filter.d/muwarden.conf", "failregex")
    need(f"{etc}/fail2ban/jail.d/muwarden.local", "/var/log/muwarden/connect-server.log")
    for unit, binary in (("muwarden-connect.service", "connect-server"),
                         ("muwarden-game.service", "game-server")):
        need(f"{prefix}/lib/systemd/system/{unit}",
             f"ExecStart={prefix}/bin/{binary} --config {etc}/muwarden/{binary}.ini")
    need(f"{prefix}/lib/sysusers.d/muwarden.conf", "u muwarden")
    need(f"{prefix}/share/doc/muwarden/SECURITY.md")
    need(f"{prefix}/share/doc/muwarden/fail2ban/filter.d/muwarden.conf")
    need(f"{prefix}/share/doc/muwarden/systemd/muwarden-connect.service")
    for ini in inis:
        code, out = ops.run([root + f"{prefix}/bin/{ini[:-4]}", "--config",
                             root + f"{etc}/muwarden/{ini}", "--check-config"], timeout=30)
        if code != 0:
            ops.fail(f"installed {ini} fails --check-config: {out}")
        checks.append(ini)
        ops.log(f"ok: the installed {ini[:-4]} accepts the installed {ini}")
    return root, etc, inis, filter_path


def main():
    a = ops.parse_args("--build-dir", "--source-dir")
    cmake = shutil.which("cmake")
    if cmake is None:
        ops.skip("cmake not found")
    checks = []
    check_prefix(cmake, a, "/opt/muwarden", checks)
    root, etc, inis, filter_path = check_prefix(cmake, a, "/usr/local", checks)

    # Reinstall over an operator's edits.
    edited = [root + f"{etc}/muwarden/{i}" for i in inis] + \
        [root + f"{etc}/fail2ban/jail.d/muwarden.local"]
    for path in edited:
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n# operator's edit\n")
    with open(filter_path, "a", encoding="utf-8") as f:
        f.write("\n# stale\n")
    install(cmake, a.build_dir, "/usr/local", root)
    for path in edited:
        with open(path, encoding="utf-8") as f:
            if "# operator's edit" not in f.read():
                ops.fail(f"reinstall overwrote the operator's {path[len(root):]}")
        checks.append(path)
        ops.log(f"ok: reinstall kept the operator's {path[len(root):]}")
    with open(filter_path, encoding="utf-8") as f:
        if "# stale" in f.read():
            ops.fail("reinstall did not update the fail2ban filter")
    checks.append(filter_path)
    ops.log("ok: reinstall updated the fail2ban filter")
    ops.log(f"PASS: {len(checks)} install checks")


if __name__ == "__main__":
    main()
