#!/usr/bin/env python3
"""Docker for real (SPEC section 12): builds the image from this checkout with a real Docker
engine and runs both servers from it as the README shows (host networking, read-only root,
no capabilities, state and log volumes):
  - both greet like MU servers and become healthy (the image's HEALTHCHECK probe);
  - `docker logs` shows the server's log lines (stdout) while the log file fail2ban reads is
    written in the log volume;
  - scripts/attack-conn-flood against the container's port says DEFENDED; the autoban it
    causes is on the state volume and still refuses the attacker after `docker restart`,
    while a witness is served; muwarden-ctl answers over the control socket via docker exec;
  - behind Docker's userland proxy (a published port reached from the host) every client
    arrives as the bridge gateway: the same flood makes the server refuse to autoban it,
    with an ERROR saying why, and a client through the proxy is still served afterwards;
  - `docker stop` exits 0.
Runs once per CI run, after every other suite (scripts/test). It uses the engine named by
DOCKER_HOST when set; otherwise it starts its own dockerd (Debian's docker.io) on a private
socket with --iptables=false (no iptables rules: they would load connection tracking for
every loopback flood test on this host) and stops it at the end. Base images: debian:12 and
debian:12-slim are pulled, or made with debootstrap --variant=minbase when no registry
answers. Exit 77 with the reason when Docker cannot run here."""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops_common as ops  # noqa: E402

PRIVATE_SOCK = "/run/muwarden-test-docker.sock"
DATA_ROOT = "/var/lib/muwarden-test-docker"
EXEC_ROOT = "/run/muwarden-test-docker"
PIDFILE = "/run/muwarden-test-docker.pid"
CACHE = "/var/cache/muwarden-test"
IMAGE = "muwarden-test:ci"
HELLO = bytes.fromhex("C1 04 00 01")
JOIN_HEAD = bytes.fromhex("C1 0C F1 00 01")
PREFIX = "mwtest-"

T0 = time.monotonic()


def step(message):
    ops.log(f"[docker {time.monotonic() - T0:6.1f} s] {message}")


def docker(*args, timeout=120, check=True, quiet=False):
    done = subprocess.run(["docker"] + list(args), capture_output=True, text=True,
                          timeout=timeout)
    out = (done.stdout or "") + (done.stderr or "")
    if check and done.returncode != 0:
        ops.fail(f"docker {' '.join(args)} exited {done.returncode}:\n{out[-4000:]}")
    if not quiet and out.strip() and done.returncode != 0:
        ops.log(out.strip()[-500:])
    return done.returncode, out


def engine_up():
    try:
        return subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=20).returncode == 0
    except (subprocess.TimeoutExpired, FileNotFoundError):
        return False


class Engine:
    """The Docker engine: one named by DOCKER_HOST, or our own dockerd."""

    def __init__(self):
        self.proc = None
        self.log_path = None

    def start(self):
        if shutil.which("docker") is None:
            ops.skip("no docker CLI (scripts/setup installs Debian's docker.io)")
        if os.environ.get("DOCKER_HOST"):
            if not engine_up():
                ops.skip(f"DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer")
            step(f"using the engine at DOCKER_HOST={os.environ['DOCKER_HOST']}")
            return
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            ops.skip("no dockerd (scripts/setup installs Debian's docker.io)")
        if os.geteuid() != 0:
            ops.skip("starting dockerd needs root")
        os.environ["DOCKER_HOST"] = f"unix://{PRIVATE_SOCK}"
        if engine_up():
            ops.skip(f"a dockerd already serves {PRIVATE_SOCK} (another run of this test?)")
        os.makedirs(DATA_ROOT, exist_ok=True)
        self.log_path = os.path.join(ops.tempfile.mkdtemp(prefix="muwarden-dockerd-"),
                                     "dockerd.log")
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [dockerd, "--host", f"unix://{PRIVATE_SOCK}", "--data-root", DATA_ROOT,
                 "--exec-root", EXEC_ROOT, "--pidfile", PIDFILE, "--iptables=false",
                 "--ip6tables=false", "--ip-masq=false"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if engine_up():
                step(f"started dockerd (pid {self.proc.pid}, --iptables=false)")
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        tail = ops.read_text(self.log_path).strip().splitlines()[-8:]
        self.stop()
        ops.skip("dockerd cannot run here:\n  " + "\n  ".join(tail))

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        step(f"stopped dockerd (exit {self.proc.returncode})")
        self.proc = None


def ensure_base_images():
    for tag in ("debian:12", "debian:12-slim"):
        if docker("image", "inspect", tag, check=False, quiet=True)[0] == 0:
            continue
        code, _ = docker("pull", tag, timeout=120, check=False, quiet=True)
        if code == 0:
            step(f"pulled {tag}")
            continue
        tar = os.path.join(CACHE, "debian12-minbase.tar")
        if not os.path.exists(tar):
            if shutil.which("debootstrap") is None:
                ops.skip(f"cannot pull {tag} and debootstrap is missing")
            root = ops.tempfile.mkdtemp(prefix="muwarden-debootstrap-")
            step(f"no registry for {tag}: debootstrap --variant=minbase bookworm")
            code, out = ops.run(["debootstrap", "--variant=minbase", "bookworm", root,
                                 "http://deb.debian.org/debian"], timeout=900)
            if code != 0:
                ops.skip(f"debootstrap failed (no network to deb.debian.org?):\n{out[-1500:]}")
            os.makedirs(CACHE, exist_ok=True)
            subprocess.run(["tar", "-C", root, "-cf", tar + ".tmp", "."], check=True)
            os.replace(tar + ".tmp", tar)
            shutil.rmtree(root, ignore_errors=True)
        with open(tar, "rb") as f:
            done = subprocess.run(["docker", "import", "-", tag], stdin=f, capture_output=True,
                                  text=True, timeout=300)
        if done.returncode != 0:
            ops.fail(f"docker import {tag}: {done.stderr}")
        step(f"imported {tag} from {tar}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def read_greeting(port, n, source=None, timeout=2.0):
    c = socket.socket()
    c.settimeout(timeout)
    try:
        if source:
            c.bind((source, 0))
        c.connect(("127.0.0.1", port))
        data = b""
        while len(data) < n:
            chunk = c.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data
    except OSError:
        return b""
    finally:
        c.close()


def wait_for(condition, timeout, what, containers=()):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.25)
    for name in containers:
        status = docker("ps", "-a", "--filter", f"name={name}", "--format", "{{.Status}}",
                        check=False)[1].strip()
        ops.log(f"--- {name}: {status}")
        ops.log(docker("logs", name, check=False)[1][-2000:])
    ops.fail(f"timed out after {timeout} s waiting for {what}")


def health(name):
    return docker("inspect", "-f", "{{.State.Health.Status}}", name, check=False)[1].strip()


def run_server(name, server, port, volume_state, volume_logs, extra=(), network=("--network",
                                                                                   "host")):
    docker("rm", "-f", name, check=False, quiet=True)
    args = ["run", "-d", "--name", name, *network, "--read-only", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges:true",
            "-v", f"{volume_state}:/var/lib/muwarden", "-v", f"{volume_logs}:/var/log/muwarden",
            "-e", f"MUWARDEN_PROBE_TARGETS=127.0.0.1:{port}",
            "--health-interval", "1s", "--health-start-period", "5s", "--health-timeout", "5s",
            IMAGE, server, "--port", str(port), "--set", "metrics.listen="] + list(extra)
    docker(*args)


def stop_ok(name):
    t0 = time.monotonic()
    docker("stop", "-t", "15", name, timeout=60)
    code = docker("inspect", "-f", "{{.State.ExitCode}}", name)[1].strip()
    if code != "0":
        ops.fail(f"docker stop {name}: exit code {code}\n{docker('logs', name, check=False)[1]}")
    step(f"docker stop {name}: exit 0 in {time.monotonic() - t0:.1f} s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--source-dir", required=True)
    a = p.parse_args()
    src = os.path.abspath(a.source_dir)
    engine = Engine()
    engine.start()
    try:
        ensure_base_images()
        step("docker build (tests and benchmarks off)")
        t_build = time.monotonic()
        code, out = docker("build", "--network", "host", "--build-arg", "MUWARDEN_TESTS=OFF",
                           "-t", IMAGE, src, timeout=1800, check=False)
        if code != 0:
            ops.fail(f"docker build failed:\n{out[-6000:]}")
        step(f"built {IMAGE} in {time.monotonic() - t_build:.0f} s")
        scenario(src)
    finally:
        for kind, names in (("container", ["cs", "gs", "proxy"]),
                            ("volume", ["state", "logs", "gstate", "glogs", "pstate", "plogs"])):
            for n in names:
                docker(kind, "rm", "-f", PREFIX + n, check=False, quiet=True)
        engine.stop()
    step("PASS: docker")


def scenario(src):
    cs, gs, proxy = PREFIX + "cs", PREFIX + "gs", PREFIX + "proxy"
    # Fresh state: containers left by an interrupted run first (a volume in use stays).
    for name in (cs, gs, proxy):
        docker("rm", "-f", name, check=False, quiet=True)
    for v in ("state", "logs", "gstate", "glogs", "pstate", "plogs"):
        docker("volume", "rm", "-f", PREFIX + v, check=False, quiet=True)
        if docker("volume", "inspect", PREFIX + v, check=False, quiet=True)[0] == 0:
            ops.fail(f"volume {PREFIX + v} from an earlier run could not be removed")
    cport, gport = free_port(), free_port()
    run_server(cs, "connect-server", cport, PREFIX + "state", PREFIX + "logs",
               ["--set", "ratelimit.conn_rate_window=2"])
    run_server(gs, "game-server", gport, PREFIX + "gstate", PREFIX + "glogs")
    wait_for(lambda: read_greeting(cport, 4) == HELLO, 60, "the ConnectServer's hello", [cs])
    wait_for(lambda: read_greeting(gport, 12)[:5] == JOIN_HEAD, 60, "the GameServer's join",
             [gs])
    step(f"both greet (connect-server :{cport}, game-server :{gport})")
    wait_for(lambda: health(cs) == "healthy" and health(gs) == "healthy", 60,
             "both containers healthy")
    step("both healthy (HEALTHCHECK muwarden-probe)")
    logs = docker("logs", cs)[1]
    if "listening on" not in logs:
        ops.fail(f"docker logs shows no server line:\n{logs}")
    code, flog = docker("exec", cs, "cat", "/var/log/muwarden/connect-server.log")
    if "listening on" not in flog:
        ops.fail("the log file in the log volume lacks the server's lines")
    step("docker logs shows the log; /var/log/muwarden/connect-server.log has it too")

    code, out = ops.run([sys.executable, os.path.join(src, "scripts", "attack-conn-flood"),
                         "--port", str(cport), "--max-seconds", "60", "--conn-rate-window", "2",
                         "--sources", "20", "--attempts", "25"], timeout=120)
    ops.log("\n".join("  " + l for l in out.strip().splitlines()[-4:]))
    if code != 0:
        ops.fail(f"attack-conn-flood against the container exited {code}")
    step("attack-conn-flood against the container: DEFENDED")
    bans = docker("exec", cs, "cat", "/var/lib/muwarden/connect-server-bans.txt")[1]
    if "127.0.15.1 " not in bans and "127.0.15.1\n" not in bans:
        ops.fail(f"the autoban is not in the ban file on the state volume:\n{bans}")
    code, out = docker("exec", cs, "muwarden-ctl", "--socket",
                       "/var/lib/muwarden/connect-server.sock", "status")
    if "server ConnectServer" not in out:
        ops.fail(f"muwarden-ctl status in the container: {out}")
    step("autoban on the state volume; muwarden-ctl status answers via docker exec")
    docker("restart", "-t", "15", cs, timeout=60)
    wait_for(lambda: read_greeting(cport, 4, "127.0.21.250") == HELLO, 30,
             "the witness greeted after the restart")
    if read_greeting(cport, 4, "127.0.15.1") == HELLO:
        ops.fail("the autobanned attacker was greeted after docker restart")
    step("after docker restart the autoban still refuses 127.0.15.1; the witness is served")

    # The userland-proxy case: a published port on the default bridge.
    pport = free_port()
    run_server(proxy, "connect-server", 44405, PREFIX + "pstate", PREFIX + "plogs",
               ["--set", "ratelimit.conn_rate_window=2"],
               network=("-p", f"127.0.0.1:{pport}:44405"))
    wait_for(lambda: read_greeting(pport, 4) == HELLO, 60, "a hello through the proxy", [proxy])
    code, out = ops.run([sys.executable, os.path.join(src, "scripts", "attack-conn-flood"),
                         "--port", str(pport), "--max-seconds", "60", "--conn-rate-window",
                         "2", "--sources", "5", "--attempts", "25"], timeout=120)
    plog = docker("logs", proxy)[1]
    refused = [l for l in plog.splitlines() if "Refusing to auto-ban" in l]
    if not refused:
        ops.fail(f"behind the proxy the server did not refuse to autoban the gateway:\n"
                 f"{plog[-3000:]}")
    ops.log("  " + refused[0][:300])
    if "Auto-banned flooding IP" in plog:
        ops.fail("the server autobanned the address every client comes through")
    wait_for(lambda: read_greeting(pport, 4) == HELLO, 15,
             "a client through the proxy served again once the window passed")
    step("published port: the gateway was not autobanned (ERROR logged); clients served again")

    stop_ok(cs)
    stop_ok(gs)
    stop_ok(proxy)


if __name__ == "__main__":
    main()
