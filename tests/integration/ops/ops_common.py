"""Helpers of the operators' kit tests: start a real muwarden server binary on a free loopback
port with its log in a file, stop it, wait for log lines, and run a command with a deadline.
Python 3 standard library only."""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77  # CTest SKIP_RETURN_CODE of these tests


def log(message=""):
    print(message, flush=True)


def fail(message):
    log(f"FAIL: {message}")
    sys.exit(1)


def skip(message):
    log(f"SKIP: {message}")
    sys.exit(SKIP)


def parse_args(*required, optional=()):
    """The test's command line: every flag in `required` must be given, those in `optional`
    default to None."""
    p = argparse.ArgumentParser()
    for flag in required:
        p.add_argument(flag, required=True)
    for flag in optional:
        p.add_argument(flag, default=None)
    return p.parse_args()


def read_text(path):
    """The file's text, or "" while it does not exist yet."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Listener:
    """A stand-in server on 127.0.0.1 and a free port: accepts on a thread, keeps every
    connection open until close(), and hands each to on_accept (nothing by default)."""

    def __init__(self, backlog):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(c)
            self.on_accept(c)

    def on_accept(self, c):
        pass

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


class Server:
    """A server binary as a child process on 127.0.0.1 and a free port."""

    def __init__(self, binary, args=(), name=None, log_dir=None):
        self.binary = binary
        self.name = name or os.path.basename(binary)
        self.dir = log_dir or tempfile.mkdtemp(prefix="muwarden-ops-")
        self.log_path = os.path.join(self.dir, f"{self.name}.log")
        self.err_path = os.path.join(self.dir, f"{self.name}.stderr")
        self.args = ["--bind", "127.0.0.1", "--port", "0", "--log-file", self.log_path]
        # The shipped configs serve /metrics on a fixed port and put the control socket
        # beside the file: off unless a test asks (tests run side by side).
        self.args += ["--set", "metrics.listen=", "--set", "control.socket="]
        self.args += list(args)
        self.proc = None
        self.port = None

    def start(self, timeout=15.0):
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([self.binary] + self.args, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        end = time.monotonic() + timeout
        pattern = re.compile(r"listening on \S+ port (\d+)")
        while time.monotonic() < end:
            m = pattern.search(self.log())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        fail(f"{self.name} did not start: exit {self.proc.returncode}\n"
             f"command: {' '.join([self.binary] + self.args)}\n"
             f"log:\n{self.log()}\nstderr:\n{self.stderr()}")
        return self

    def log(self):
        return read_text(self.log_path)

    def stderr(self):
        return read_text(self.err_path)

    def wait_for_log(self, text, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.log():
                return True
            time.sleep(0.02)
        return text in self.log()

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit code (fails the test on a hang)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail(f"{self.name} did not stop within {timeout} s of SIGTERM")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()


def run(command, timeout, input_text=None, env=None):
    """(exit code, stdout+stderr) of a command; fails the test if it outlives `timeout`."""
    try:
        done = subprocess.run(command, input=input_text, capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        fail(f"{' '.join(command)} did not finish within {timeout} s\n{e.stdout or ''}")
    return done.returncode, (done.stdout or "") + (done.stderr or "")


def add_account(game_server, database, name, password):
    code, out = run([game_server, "--set", f"game.database={database}", "account", "add", name],
                    timeout=60, input_text=password + "\n")
    if code != 0:
        fail(f"account add {name}: exit {code}: {out}")
