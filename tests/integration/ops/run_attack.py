#!/usr/bin/env python3
"""Runs one attack script of scripts/ twice against the real server: once with the defence on
(the shipped config file, or it with shortened timeouts so the test stays fast) where the
script must exit 0 and the server must log the expected security line, and once with that
defence switched off or set very high, where the script must exit 1 (NOT DEFENDED). Prints
both verdicts. Exit 0 = both verdicts as expected; 77 = skipped (chat-flood only, when the
GameServer does not answer logins)."""

import argparse
import os
import re
import sys
import threading

import ops_common as ops

# name: server kind, settings with the defence on / off, script flags for both runs, the
# security lines the defended server must write, the attacker and witness addresses.
ATTACKS = {
    "slowloris-silent": dict(
        server="connect",
        on=["server.handshake_timeout=1"],
        off=["server.handshake_timeout=3600"],
        # Two: a third silent socket of one block is refused by server.pending_per_ip.
        flags=["--handshake-timeout", "1", "--connections", "2"],
        logs=["Handshake timeout: 127.0.10.1"],
        witness="127.0.10.2"),
    "slowloris-drip": dict(
        server="connect",
        on=["server.read_timeout=1"],
        off=["server.read_timeout=3600"],
        flags=["--read-timeout", "1"],
        logs=["Read timeout: 127.0.11.1 (incomplete packet)"],
        witness="127.0.11.2"),
    "slow-read": dict(
        server="connect",
        on=["server.read_timeout=1", "server.write_timeout=1"],
        off=["server.read_timeout=3600", "server.write_timeout=3600"],
        flags=["--read-timeout", "1", "--write-timeout", "1"],
        logs=[r"(Read|Write) timeout: 127\.0\.12\.1"],
        witness="127.0.12.2"),
    "oversize-header": dict(
        server="connect",
        on=[],
        # Frames up to 65535 bytes admitted after the handshake (the arena must hold two).
        off=["server.max_packet_size=65535", "server.arena_kib=256"],
        flags=[],
        logs=["Oversize packet: 127.0.13.1"],
        witness="127.0.13.2"),
    "garbage-bytes": dict(
        server="connect",
        on=[],
        off=None,  # no setting turns the codec checks off: a defenceless stand-in instead
        flags=[],
        logs=["Malformed packet: 127.0.14.1"],
        witness="127.0.14.2"),
    "conn-flood": dict(
        server="connect",
        on=["ratelimit.conn_rate_window=2"],
        off=["ratelimit.conn_rate_window=2", "ratelimit.conn_rate_limit=65536",
             "ratelimit.conn_flood_autoban=false"],
        # The witness outside the flooders' /24, which the prefix limits (SPEC 4a) refuse too.
        flags=["--conn-rate-window", "2", "--sources", "20", "--attempts", "25",
               "--witness-source", "127.0.21.250"],
        logs=["Connection rate limited: 127.0.15.1", "Auto-banned flooding IP: 127.0.15.1"],
        witness="127.0.21.250"),
    "multiclient": dict(
        server="connect",
        on=["ratelimit.conn_rate_window=1"],
        off=["ratelimit.conn_rate_window=1", "server.multiclient_limit=1000"],
        flags=["--conn-rate-window", "1"],
        logs=["Multiclient limit reached: 127.0.16.1"],
        witness="127.0.16.2"),
    "packet-flood": dict(
        server="connect",
        on=[],
        off=["ratelimit.raw_pkt_rate_limit=65536"],
        flags=[],
        logs=["Packet rate exceeded: 127.0.17.1"],
        witness="127.0.17.2"),
    # SIEGE (SPEC 4a): the attack is about slots, not the connection rate.
    "slot-hold": dict(
        server="connect",
        on=["ratelimit.conn_rate_limit=100"],
        off=["ratelimit.conn_rate_limit=100", "server.evict_when_full=false"],
        flags=["--prefixes", "64", "--per-prefix", "16"],
        logs=[r"INFO \[security\] Evicted for a newcomer: 127\.40\."],
        witness="127.0.19.2"),
    "prefix-flood": dict(
        server="connect",
        on=[],
        off=["ratelimit.prefix_conn_rate_limit=65536", "ratelimit.prefix_ban_threshold=1000"],
        flags=["--blocks", "200", "--attempts", "8"],
        logs=["Prefix rate limited: 127.41.0.", "Auto-banned flooding prefix: 127.41.0.0/24"],
        witness="127.0.20.2"),
    "chat-flood": dict(
        server="game",
        # game-server.ini ships a raw packet limit (60 per 2 s) that lets the flood be sent
        # fast, so only the chat limit (20 per 10 s) acts; the same limit without the file.
        on=["ratelimit.raw_pkt_rate_limit=60"],
        off=["ratelimit.raw_pkt_rate_limit=60", "ratelimit.chat_rate_limit=65536"],
        flags=["--count", "30", "--interval", "0.05"],
        logs=[],  # excess chat is dropped silently
        witness="127.0.18.2"),
}


class StandIn(ops.Listener):
    """A server with no defences at all: it greets, answers a server list request, and
    ignores everything else while keeping the connection open. Used where no setting can turn
    a muwarden defence off, to prove the attack script can say NOT DEFENDED."""

    def __init__(self):
        super().__init__(backlog=64)

    def on_accept(self, c):
        threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    @staticmethod
    def serve(c):
        try:
            c.sendall(bytes.fromhex("C1 04 00 01"))
            while True:
                data = c.recv(4096)
                if not data:
                    return
                if data == bytes.fromhex("C1 04 F4 06"):
                    c.sendall(bytes.fromhex("C2 00 0B F4 06 00 01 00 00 00 00"))
        except OSError:
            return


def run_script(script, port, flags, title):
    command = [sys.executable, script, "--port", str(port), "--max-seconds", "60"] + flags
    ops.log(f"--- {title}")
    ops.log("$ " + " ".join(["scripts/" + os.path.basename(script), "--port", str(port),
                             "--max-seconds", "60"] + flags))
    code, out = ops.run(command, timeout=120)
    for line in out.rstrip().splitlines():
        ops.log("  | " + line)
    verdict = next((l for l in reversed(out.splitlines()) if l.startswith("VERDICT:")), None)
    return code, verdict, out


def security_lines_for(log_text, ip):
    return [l for l in log_text.splitlines()
            if "[security]" in l and re.search(r": " + re.escape(ip) + r"( \(|$)", l)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--attack", required=True, choices=sorted(ATTACKS))
    p.add_argument("--source-dir", required=True)
    p.add_argument("--connect-server", required=True)
    p.add_argument("--game-server", required=True)
    a = p.parse_args()
    spec = ATTACKS[a.attack]
    script = os.path.join(a.source_dir, "scripts", f"attack-{a.attack}")
    binary = a.connect_server if spec["server"] == "connect" else a.game_server

    def server_args(settings, workdir):
        # The shipped config file when there is one (what operators run), with the state
        # pointed into the test's folder, then the settings of this run.
        args = []
        shipped = os.path.join(a.source_dir, "config", f"{spec['server']}-server.ini")
        if os.path.exists(shipped):
            args += ["--config", shipped]
        args += ["--ban-file", os.path.join(workdir, "bans.txt")]
        for s in settings:
            args += ["--set", s]
        if spec["server"] == "game":
            database = os.path.join(workdir, "accounts.db")
            ops.add_account(a.game_server, database, "mwattack", "attack-pass")
            ops.add_account(a.game_server, database, "mwwitness", "witness-pass")
            args += ["--set", f"game.database={database}"]
        return args

    # Defence on.
    server = ops.Server(binary, name=f"{spec['server']}-on")
    server.args += server_args(spec["on"], server.dir)
    with server:
        title = (f"{a.attack}: defence ON ({os.path.basename(binary)}, shipped settings "
                 f"{'+ ' + ' '.join(spec['on']) if spec['on'] else 'unchanged'})")
        code_on, verdict_on, _ = run_script(script, server.port, spec["flags"], title)
        if code_on == 3 and a.attack == "chat-flood":
            server.stop()
            ops.skip("chat-flood: the GameServer does not answer logins yet; the script "
                     f"said: {verdict_on}")
        for text in spec["logs"]:
            if not any(re.search(text, l) for l in server.log().splitlines()) and \
                    not server.wait_for_log(text, 3.0):
                ops.fail(f"defence ON: the server log lacks {text!r}:\n{server.log()}")
        witness_lines = security_lines_for(server.log(), spec["witness"])
        exit_code = server.stop()
    if code_on != 0:
        ops.fail(f"defence ON: the script exited {code_on}, expected 0 ({verdict_on})")
    if witness_lines:
        ops.fail(f"the witness {spec['witness']} appears in security lines: {witness_lines}")
    if exit_code != 0:
        ops.fail(f"the server exited {exit_code} on SIGTERM, expected 0")

    # Defence off.
    if spec["off"] is None:
        stand_in = StandIn()
        title = f"{a.attack}: defence OFF (a stand-in server with no defences: no muwarden " \
                "setting disables the codec checks)"
        code_off, verdict_off, _ = run_script(script, stand_in.port, spec["flags"], title)
        stand_in.close()
    else:
        server = ops.Server(binary, name=f"{spec['server']}-off")
        server.args += server_args(spec["off"], server.dir)
        with server:
            title = (f"{a.attack}: defence OFF ({os.path.basename(binary)}, shipped settings "
                     f"+ {' '.join(spec['off'])})")
            code_off, verdict_off, _ = run_script(script, server.port, spec["flags"], title)
            server.stop()
    if code_off != 1 or not verdict_off or not verdict_off.startswith("VERDICT: NOT DEFENDED"):
        ops.fail(f"defence OFF: the script exited {code_off} ({verdict_off}); expected 1 "
                 "with NOT DEFENDED")

    ops.log("")
    ops.log(f"{a.attack} with the defence ON : exit {code_on}, {verdict_on}")
    ops.log(f"{a.attack} with the defence OFF: exit {code_off}, {verdict_off}")
    ops.log(f"PASS: {a.attack}")


if __name__ == "__main__":
    main()
