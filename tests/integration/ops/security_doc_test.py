#!/usr/bin/env python3
"""SECURITY.md stays true: every test it names exists, every default in its limit tables is
the one the binaries print (--print-config), every event the fail2ban filter counts is named
in it, and its nftables recipe passes `nft -c` (when nft can run here)."""

import glob
import os
import re
import shutil
import tempfile

import ops_common as ops


def gtest_exists(name, sources):
    suite, case = name.split(".")
    pattern = re.compile(r"\b(?:TYPED_)?TEST(?:_F|_P)?\(\s*" + re.escape(suite) + r"\s*,\s*" +
                         re.escape(case) + r"\s*\)")
    return any(pattern.search(text) for text in sources)


def ops_test_names(cmake_text):
    names = set(re.findall(r"muwarden_ops_test\(\s*([A-Za-z0-9_${}-]+)", cmake_text))
    attacks = re.search(r"foreach\(attack([^)]*)\)", cmake_text)
    expanded = set()
    for n in names:
        if "${attack}" in n and attacks:
            expanded |= {n.replace("${attack}", a) for a in attacks.group(1).split()}
        else:
            expanded.add(n)
    return expanded


def print_config(binary):
    code, out = ops.run([binary, "--print-config"], timeout=30)
    if code != 0:
        ops.fail(f"{binary} --print-config exited {code}: {out}")
    values, section = {}, ""
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith(";"):
            k, _, v = line.partition("=")
            values[f"{section}.{k.strip()}"] = v.strip()
    return values


def parse_default(text):
    text = text.split(" (")[0].strip()
    token = text.split()[0] if text.split() else ""
    if token == "empty":
        return ""
    if token in ("true", "false"):
        return token
    try:
        return float(token.rstrip(","))
    except ValueError:
        return None


def same(documented, printed):
    if isinstance(documented, float):
        try:
            return float(printed) == documented
        except ValueError:
            return False
    return documented == printed


def main():
    a = ops.parse_args("--source-dir", "--connect-server", "--game-server")
    with open(os.path.join(a.source_dir, "SECURITY.md"), encoding="utf-8") as f:
        doc = f.read()

    # 1. Named tests exist.
    sources = []
    for path in glob.glob(os.path.join(a.source_dir, "tests", "**", "*.cc"), recursive=True):
        with open(path, encoding="utf-8", errors="replace") as f:
            sources.append(f.read())
    with open(os.path.join(a.source_dir, "tests", "integration", "ops", "CMakeLists.txt"),
              encoding="utf-8") as f:
        ops_names = ops_test_names(f.read())
    gtests = sorted(set(re.findall(r"`([A-Z][A-Za-z0-9]*Test\.[A-Za-z0-9_]+)`", doc)))
    missing = [n for n in gtests if not gtest_exists(n, sources)]
    opst = sorted(set(re.findall(r"`(ops_[A-Za-z0-9_*-]+)`", doc)))
    for n in opst:
        if n.endswith("*"):
            if not any(o.startswith(n[:-1]) for o in ops_names):
                missing.append(n)
        elif n not in ops_names:
            missing.append(n)
    if "`frame_fuzzer`" in doc and not os.path.exists(
            os.path.join(a.source_dir, "tests", "fuzz", "frame_fuzzer.cc")):
        missing.append("frame_fuzzer")
    if missing:
        ops.fail(f"SECURITY.md names tests that do not exist: {missing}")
    ops.log(f"ok: all {len(gtests)} GoogleTest cases and {len(opst)} ops tests named exist")

    # 2. Documented defaults = printed defaults.
    printed = {"connect": print_config(a.connect_server), "game": print_config(a.game_server)}
    checked = 0
    for line in doc.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) < 3:
            continue
        keys = re.findall(r"`([a-z_]+\.[a-z_]+)`", cells[1])
        if len(keys) != 1 or cells[1] != f"`{keys[0]}`":
            continue
        key = keys[0]
        parts = [parse_default(x) for x in cells[2].split(" / ")]
        if any(x is None for x in parts):
            continue
        kinds = ["game"] if key.startswith("game.") else ["connect", "game"]
        for i, kind in enumerate(kinds):
            want = parts[i] if len(parts) > 1 else parts[0]
            got = printed[kind].get(key)
            if got is None:
                ops.fail(f"SECURITY.md documents {key}, which {kind}-server does not have")
            if not same(want, got):
                ops.fail(f"SECURITY.md says {key} defaults to {cells[2]!r}; {kind}-server "
                         f"prints {got!r}")
            checked += 1
    if checked < 25:
        ops.fail(f"only {checked} documented defaults found; the tables changed shape?")
    ops.log(f"ok: {checked} documented defaults match --print-config")

    # 3. The fail2ban events are documented.
    with open(os.path.join(a.source_dir, "config", "fail2ban", "filter.d", "muwarden.conf"),
              encoding="utf-8") as f:
        events = re.search(r"_muwarden_event = \(\?:([^)]*)\)", f.read()).group(1).split("|")
    absent = [e for e in events if e not in doc]
    if absent:
        ops.fail(f"fail2ban events not described in SECURITY.md: {absent}")
    ops.log(f"ok: the {len(events)} events the filter counts are described")

    # 4. The nftables recipe.
    blocks = re.findall(r"```nft\n(.*?)```", doc, re.S)
    if not blocks:
        ops.fail("no ```nft block in SECURITY.md")
    nft = shutil.which("nft")
    if nft is None:
        ops.log("note: nft not installed; the nftables recipe was not checked here")
    else:
        for block in blocks:
            path = os.path.join(tempfile.mkdtemp(prefix="muwarden-ops-nft-"), "guard.nft")
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(l[2:] if l.startswith("  ") else l
                                  for l in block.splitlines()) + "\n")
            code, out = ops.run([nft, "-c", "-f", path], timeout=30)
            if code != 0 and ("Operation not permitted" in out or "Permission denied" in out):
                ops.log(f"note: nft -c needs CAP_NET_ADMIN here; recipe not checked ({out.strip()})")
            elif code != 0:
                ops.fail(f"nft -c rejects the SECURITY.md recipe:\n{out}")
            else:
                ops.log("ok: nft -c accepts the nftables recipe")
    # 5. The iptables recipe (iptables-restore --test, where iptables is installed).
    for block in re.findall(r"```iptables\n(.*?)```", doc, re.S):
        commands = re.sub(r"\\\n\s*", " ", block).splitlines()
        for program in ("iptables", "ip6tables"):
            rules = [c.strip()[len(program):].strip() for c in commands
                     if c.strip().startswith(program + " ")]
            restore = shutil.which(program + "-restore")
            if not rules:
                ops.fail(f"no {program} rules in the iptables recipe")
            if restore is None:
                ops.log(f"note: {program}-restore not installed; {len(rules)} rules not checked")
                continue
            path = os.path.join(tempfile.mkdtemp(prefix="muwarden-ops-ipt-"), "rules")
            with open(path, "w", encoding="utf-8") as f:
                f.write("*filter\n" + "\n".join(rules) + "\nCOMMIT\n")
            code, out = ops.run([restore, "--test", path], timeout=30)
            if code != 0 and ("Permission denied" in out or "not permitted" in out):
                ops.log(f"note: {program}-restore --test needs CAP_NET_ADMIN here")
            elif code != 0:
                ops.fail(f"{program}-restore --test rejects the recipe:\n{out}")
            else:
                ops.log(f"ok: {program}-restore --test accepts the {len(rules)} {program} rules")

    # 6. The kernel settings exist.
    for block in re.findall(r"```sysctl\n(.*?)```", doc, re.S):
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key = line.split("=")[0].strip()
            if not os.path.exists("/proc/sys/" + key.replace(".", "/")):
                ops.fail(f"SECURITY.md names a sysctl this kernel does not have: {key}")
            ops.log(f"ok: sysctl {key} exists")
    ops.log("PASS: SECURITY.md is consistent with the tests, the binaries and the filter")


if __name__ == "__main__":
    main()
