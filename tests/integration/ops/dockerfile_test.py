#!/usr/bin/env python3
"""The Dockerfile without a Docker engine: its stages, that the build stage runs the scripts CI
runs (scripts/setup, scripts/build, the unit tests), the runtime stage's non-root USER, both
EXPOSEd ports, the state and log VOLUMEs, STOPSIGNAL, the HEALTHCHECK with muwarden-probe and
the entrypoint; then the image's config generation and entrypoint are run here with the built
binaries: the configs point all state into the VOLUMEs and the documented `docker run`
command lines start the right server with the right flags."""

import json
import os
import re
import shlex
import shutil
import tempfile

import ops_common as ops


def instructions(path):
    """[(KEYWORD, arguments)] with continuations joined and comments dropped."""
    out = []
    pending = ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            line = pending + line
            pending = ""
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def stages(instrs):
    result = []
    for keyword, rest in instrs:
        if keyword == "FROM":
            result.append({"from": rest, "instrs": []})
        elif result:
            result[-1]["instrs"].append((keyword, rest))
    return result


def exec_form(rest, what):
    try:
        value = json.loads(rest)
    except json.JSONDecodeError:
        ops.fail(f"{what} must use the exec (JSON) form: {rest}")
    if not isinstance(value, list) or not value:
        ops.fail(f"{what} must be a non-empty JSON list: {rest}")
    return value


def main():
    a = ops.parse_args("--source-dir", "--bin-dir")
    src = a.source_dir
    instrs = instructions(os.path.join(src, "Dockerfile"))
    st = stages(instrs)
    ok = []

    def need(condition, message):
        if not condition:
            ops.fail(message)
        ok.append(message)
        ops.log(f"ok: {message}")

    need(len(st) == 2, "two stages (build, runtime)")
    build, runtime = st
    need(re.fullmatch(r"debian:12\s+AS\s+build", build["from"], re.I) is not None,
         "build stage FROM debian:12 AS build")
    need(runtime["from"] == "debian:12-slim", "runtime stage FROM debian:12-slim")

    build_runs = [r for k, r in build["instrs"] if k == "RUN"]
    # The scripts CI runs: .ci/run -> scripts/test -> scripts/setup + scripts/build.
    with open(os.path.join(src, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    with open(os.path.join(src, "scripts", "test"), encoding="utf-8") as f:
        test_script = f.read()
    need("scripts/test" in ci and "scripts/setup" in test_script and
         "scripts/build" in test_script, "CI builds with scripts/setup and scripts/build")
    need(any(re.search(r"\bbash scripts/setup(\s|$|&)", r) and "--runtime" not in r
             for r in build_runs), "build stage installs dependencies with scripts/setup")
    need(any("scripts/build" in r and "BUILD_TYPE=Release" in r for r in build_runs),
         "build stage builds Release with scripts/build")
    need(any(re.search(r"\bctest\b.*-L unit", r) for r in build_runs),
         "build stage runs the unit tests (ctest -L unit)")
    need(any("tools/docker/make-config.sh" in r for r in build_runs),
         "build stage writes the image's configs with tools/docker/make-config.sh")

    rt = runtime["instrs"]
    rt_runs = [r for k, r in rt if k == "RUN"]
    need(any("setup --runtime" in r for r in rt_runs),
         "runtime stage installs only the runtime libraries (scripts/setup --runtime)")
    users = [r for k, r in rt if k == "USER"]
    need(len(users) == 1, "one USER in the runtime stage")
    user = users[0].split(":")[0]
    need(user not in ("root", "0") and user.strip(), f"USER {users[0]} is not root")
    need(any(re.search(r"useradd\b.*\b" + re.escape(user) + r"\b", r) for r in rt_runs),
         f"the runtime stage creates user {user}")
    kws = [k for k, _ in rt]
    need(kws.index("USER") > max(i for i, k in enumerate(kws) if k == "RUN"),
         "USER comes after every RUN (nothing runs as root after it is set)")
    exposed = set()
    for k, r in rt:
        if k == "EXPOSE":
            exposed |= {x.split("/")[0] for x in r.split()}
    need({"44405", "55901"} <= exposed, "EXPOSE 44405 and 55901")
    volumes = []
    for k, r in rt:
        if k == "VOLUME":
            volumes += exec_form(r, "VOLUME") if r.startswith("[") else r.split()
    need("/var/lib/muwarden" in volumes and "/var/log/muwarden" in volumes,
         "VOLUME /var/lib/muwarden (state) and /var/log/muwarden (logs)")
    need(("STOPSIGNAL", "SIGTERM") in rt, "STOPSIGNAL SIGTERM")
    health = [r for k, r in rt if k == "HEALTHCHECK"]
    need(len(health) == 1, "one HEALTHCHECK")
    cmd = health[0].split(" CMD ", 1)
    need(len(cmd) == 2, "HEALTHCHECK has a CMD")
    probe_argv = exec_form(cmd[1].strip(), "HEALTHCHECK CMD")
    need(probe_argv[0].endswith("/muwarden-probe"), "HEALTHCHECK runs muwarden-probe (no shell)")
    need(re.search(r"--timeout=\d+s", cmd[0]) is not None, "HEALTHCHECK has a --timeout")
    copies = " ".join(r for k, r in rt if k == "COPY")
    for binary in ("connect-server", "game-server", "muwarden-probe"):
        need(re.search(r"--from=build\b.*bin/" + binary + r"\b", copies) is not None,
             f"runtime stage copies {binary} from the build stage")
    need(re.search(r"--from=build\b.*/etc/muwarden", copies) is not None,
         "runtime stage copies the generated configs to /etc/muwarden")
    entry = exec_form(next(r for k, r in rt if k == "ENTRYPOINT"), "ENTRYPOINT")
    need(re.search(r"tools/docker/entrypoint\.sh\s+" + re.escape(entry[0]), copies) is not None,
         "ENTRYPOINT is tools/docker/entrypoint.sh")
    default_cmd = exec_form(next(r for k, r in rt if k == "CMD"), "CMD")
    need(default_cmd[0] in ("connect-server", "game-server"), "CMD names a server")
    for k, r in build["instrs"] + rt:
        if k == "COPY" and "--from=" not in r:
            for path in shlex.split(r)[:-1]:
                need(os.path.exists(os.path.join(src, path.rstrip("/"))),
                     f"COPY source {path} exists")
    with open(os.path.join(src, ".dockerignore"), encoding="utf-8") as f:
        ignored = {l.strip() for l in f if l.strip() and not l.startswith("#")}
    need({".git", "build", "build-*"} <= ignored, ".dockerignore keeps .git and build trees out")

    # The image's configs, generated here as the build stage does.
    state, logs = "/var/lib/muwarden", "/var/log/muwarden"
    out = tempfile.mkdtemp(prefix="muwarden-ops-docker-")
    code, text = ops.run(["sh", os.path.join(src, "tools", "docker", "make-config.sh"),
                          a.bin_dir, os.path.join(src, "config"), out, state, logs], timeout=60)
    ops.log(text.strip())
    need(code == 0, "make-config.sh writes configs that pass --check-config")
    with open(os.path.join(out, "connect-server.ini"), encoding="utf-8") as f:
        connect_ini = f.read()
    with open(os.path.join(out, "game-server.ini"), encoding="utf-8") as f:
        game_ini = f.read()
    need(f"ban_file = {state}/connect-server-bans.txt" in connect_ini and
         f"ban_file = {state}/game-server-bans.txt" in game_ini, "ban files in the state VOLUME")
    need(f"database = {state}/accounts.db" in game_ini, "account database in the state VOLUME")
    need(f"file = {logs}/connect-server.log" in connect_ini and
         f"file = {logs}/game-server.log" in game_ini, "logs in the log VOLUME")
    need("bind = 0.0.0.0" in connect_ini and "bind = 0.0.0.0" in game_ini,
         "the servers listen on every interface in the container")
    jail = os.path.join(src, "config", "fail2ban", "jail.d", "muwarden.local")
    with open(jail, encoding="utf-8") as f:
        jail_text = f.read()
    need(f"{logs}/connect-server.log" in jail_text and f"{logs}/game-server.log" in jail_text,
         "the fail2ban jail reads the log files the image writes")

    # The entrypoint, run here with the built binaries and the generated configs.
    entrypoint = os.path.join(src, "tools", "docker", "entrypoint.sh")
    env = dict(os.environ, MUWARDEN_BIN_DIR=a.bin_dir, MUWARDEN_CONFIG_DIR=out)

    def entry_run(args):
        code, text = ops.run(["sh", entrypoint] + args, timeout=30, env=env)
        ops.log(f"$ docker run muwarden {' '.join(args)}\n  exit {code}: "
                f"{text.strip().splitlines()[0] if text.strip() else ''}")
        return code, text

    code, text = entry_run(["connect-server", "--set", "ratelimit.conn_rate_limit=5",
                            "--print-config"])
    need(code == 0 and "conn_rate_limit = 5" in text and
         f"ban_file = {state}/connect-server-bans.txt" in text,
         "`connect-server --set ...` runs the ConnectServer with the image config and the flag")
    code, text = entry_run(["game-server", "--print-config"])
    need(code == 0 and "[game]" in text and f"database = {state}/accounts.db" in text,
         "`game-server` runs the GameServer with the image config")
    code, text = entry_run(["--check-config"])
    need(code == 0 and "connect-server: settings OK" in text,
         "flags alone run the default server (connect-server)")
    other = os.path.join(out, "other.ini")
    with open(other, "w", encoding="utf-8") as f:
        f.write("[server]\nport = 44406\n")
    code, text = entry_run(["connect-server", "--config", other, "--print-config"])
    need(code == 0 and "port = 44406" in text and state not in text,
         "a --config flag replaces the image's file")
    code, text = entry_run(["sh", "-c", "echo passthrough"])
    need(code == 0 and text.strip() == "passthrough", "other commands run as given")
    code, text = entry_run(["connect-server", "--set", "server.port=70000"])
    need(code == 2, "a settings error exits 2 (the container stops, nothing restarts it)")
    checker = shutil.which("shellcheck")
    if checker:
        code, text = ops.run([checker, entrypoint,
                              os.path.join(src, "tools", "docker", "make-config.sh")],
                             timeout=60)
        need(code == 0, "shellcheck finds nothing in the image's shell scripts")
    ops.log(f"PASS: {len(ok)} Dockerfile checks")


if __name__ == "__main__":
    main()
