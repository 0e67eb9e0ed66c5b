"""Shared code of the muwarden attack scripts (scripts/attack-*): Python 3 standard library only.

What is here: the command-line options every script shares (target, source addresses, the
safety switch for non-loopback targets, an overall time limit), a raw TCP client that can bind
its own 127.x.y.z source address, the witness (a legitimate client on another address that must
still be served during and after an attack), the verdict printing and exit codes, and the
GameServer client ciphers of PROTOCOL.md section 4 (Xor32, Xor3, SimpleModulus) with the login,
ping and chat packets. `python3 scripts/muwarden_attack.py` checks the ciphers against the
PROTOCOL.md vectors.

Exit codes of every script: 0 the server defended as SECURITY.md says; 1 it did not (the reason is
printed); 2 usage error or the attack could not be run (server unreachable, bad options); 3 the
attack needs something the server does not offer yet (for example GameServer logins).
"""

import argparse
import errno
import ipaddress
import socket
import struct
import sys
import time

EXIT_DEFENDED = 0
EXIT_NOT_DEFENDED = 1
EXIT_CANNOT_RUN = 2
EXIT_UNSUPPORTED = 3

CONNECT_PORT = 44405
GAME_PORT = 55901

HELLO = bytes.fromhex("C1 04 00 01")
JOIN_PREFIX = bytes.fromhex("C1 0C F1 00 01")
LIST_REQUEST = bytes.fromhex("C1 04 F4 06")
LIST_REQUEST_OLD = bytes.fromhex("C1 04 F4 02")

# Hard ceilings whatever the flags say, so a typo cannot turn a check into a real flood.
MAX_CONNECTIONS = 2000
MAX_SOURCES = 254
MAX_PACKETS = 10000
MAX_SECONDS = 900


class NotDefended(Exception):
    """The server did not defend; the message says what it did instead."""


class CannotRun(Exception):
    """The attack could not be run (nothing listening, bad options)."""


class Unsupported(Exception):
    """The server lacks what the attack needs (for example logins)."""


def hexs(data):
    return " ".join(f"{b:02X}" for b in data) if data else "(nothing)"


def short_hex(data, limit=24):
    if len(data) <= limit:
        return hexs(data)
    return f"{hexs(data[:limit])} ... ({len(data)} bytes)"


def log(message):
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# Options


def make_parser(description, default_port, source, witness_source):
    """The options every script takes; scripts add their own timing flags."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1",
                   help="server address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=default_port,
                   help=f"server port (default {default_port})")
    p.add_argument("--source", default=None,
                   help=f"attacker source address (default {source} on loopback, "
                   "the system's choice otherwise)")
    p.add_argument("--witness-source", default=None,
                   help=f"source address of the legitimate witness client (default "
                   f"{witness_source} on loopback)")
    p.add_argument("--i-own-this-server", action="store_true",
                   help="allow a target outside 127.0.0.0/8 and ::1 (only against your own "
                   "server)")
    p.add_argument("--max-seconds", type=float, default=120.0,
                   help="stop and fail after this long whatever happens (default 120)")
    p.set_defaults(default_source=source, default_witness_source=witness_source)
    return p


def is_loopback(host):
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise CannotRun(f"cannot resolve {host}: {e}")
    return all(ipaddress.ip_address(i[4][0].split("%")[0]).is_loopback for i in infos)


def check_target(args):
    """Refuses non-loopback targets without --i-own-this-server and fills in the sources."""
    if not 1 <= args.port <= 65535:
        raise CannotRun(f"--port {args.port} is not a TCP port")
    if not 0 < args.max_seconds <= MAX_SECONDS:
        raise CannotRun(f"--max-seconds must be in (0, {MAX_SECONDS}]")
    loopback = is_loopback(args.host)
    if not loopback and not args.i_own_this_server:
        raise CannotRun(
            f"{args.host} is not a loopback address; these scripts attack only servers you "
            "run. Add --i-own-this-server if this one is yours.")
    ipv6 = ":" in args.host or socket.getaddrinfo(
        args.host, None, proto=socket.IPPROTO_TCP)[0][0] == socket.AF_INET6
    if args.source is None and loopback and not ipv6:
        args.source = args.default_source
    if args.witness_source is None and loopback and not ipv6:
        args.witness_source = args.default_witness_source
    args.loopback = loopback
    args.ipv6 = ipv6
    args.deadline = time.monotonic() + args.max_seconds
    return args


def loopback_sources(first, count):
    """`count` consecutive IPv4 addresses from `first` (e.g. 127.0.1.1)."""
    base = ipaddress.IPv4Address(first)
    return [str(base + i) for i in range(count)]


def bounded(value, ceiling, name):
    if value < 0 or value > ceiling:
        raise CannotRun(f"{name} must be between 0 and {ceiling}")
    return value


# ---------------------------------------------------------------------------------------------
# Raw TCP client


class Client:
    """One TCP connection with an optional source address; every wait has a deadline."""

    def __init__(self, host, port, source=None, timeout=3.0, rcvbuf=0):
        self.label = source or "default"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if family == socket.AF_INET and not _is_ipv4(host):
            family = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)[0][0]
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.closed_by_server = None  # "eof" or "reset" once seen
        self.received = bytearray()
        try:
            if rcvbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            if source:
                self.sock.bind((source, 0))
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        except OSError:
            self.sock.close()
            raise

    def send(self, data):
        """False if the server has already closed (EPIPE/ECONNRESET)."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.closed_by_server = self.closed_by_server or "reset"
            return False
        except OSError as e:
            if e.errno in (errno.EPIPE, errno.ECONNRESET):
                self.closed_by_server = self.closed_by_server or "reset"
                return False
            raise

    def _recv(self, size):
        """One recv of up to `size` bytes; None (and closed_by_server set) once the server
        has closed. socket.timeout goes to the caller."""
        try:
            chunk = self.sock.recv(size)
        except ConnectionResetError:
            self.closed_by_server = "reset"
            return None
        if not chunk:
            self.closed_by_server = "eof"
            return None
        return chunk

    def read_exactly(self, n, timeout):
        """Up to n bytes; fewer if the deadline passes or the server closes."""
        end = time.monotonic() + timeout
        out = bytearray()
        while len(out) < n:
            left = end - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                chunk = self._recv(n - len(out))
            except socket.timeout:
                break
            if chunk is None:
                break
            out += chunk
        self.received += out
        return bytes(out)

    def read_available(self, timeout, settle=0.05):
        """Whatever arrives within `timeout`, returning `settle` after the last byte."""
        end = time.monotonic() + timeout
        out = bytearray()
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(min(left, settle) if out else left)
            try:
                chunk = self._recv(65536)
            except socket.timeout:
                if out:
                    break
                continue
            if chunk is None:
                break
            out += chunk
        self.received += out
        return bytes(out)

    def wait_closed(self, timeout):
        """Seconds until the server closed (EOF or reset), or None if still open after
        `timeout`. Bytes read meanwhile are kept in self.received."""
        start = time.monotonic()
        end = start + timeout
        if self.closed_by_server:
            return 0.0
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except ConnectionResetError:
                self.closed_by_server = "reset"
                return time.monotonic() - start
            if not chunk:
                self.closed_by_server = "eof"
                return time.monotonic() - start
            self.received += chunk

    def close(self, reset=False):
        if reset:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.sock.close()


def _is_ipv4(host):
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        return False


def open_client(args, source, timeout=3.0, rcvbuf=0):
    try:
        return Client(args.host, args.port, source, timeout, rcvbuf)
    except ConnectionRefusedError:
        raise CannotRun(f"nothing listens on {args.host}:{args.port}")
    except OSError as e:
        raise CannotRun(f"cannot connect to {args.host}:{args.port} from "
                        f"{source or 'the default address'}: {e}")


def try_connect(args, source, hello_len, timeout=2.0):
    """Connects and reads the greeting: (client, greeting) when admitted, (None, why) when
    the server refused (reset or close before any byte: Layer 1 gives no hello)."""
    try:
        c = Client(args.host, args.port, source, timeout)
    except ConnectionRefusedError:
        raise CannotRun(f"nothing listens on {args.host}:{args.port}")
    except OSError as e:
        if e.errno in (errno.ECONNRESET, errno.ETIMEDOUT):
            return None, "reset during connect"
        raise CannotRun(f"connect from {source}: {e}")
    greeting = c.read_exactly(hello_len, timeout)
    if len(greeting) == hello_len:
        c.received = bytearray()  # later reads collect only what follows the greeting
        return c, greeting
    why = c.closed_by_server or "no greeting"
    c.close()
    return None, f"refused ({why}, {len(greeting)} bytes)"


class Pacer:
    """Keeps one source's connection attempts under the server's connection rate limit
    (conn_rate_limit per conn_rate_window, refused attempts included), so an attack that is
    about something else does not trip Layer 1 by accident."""

    def __init__(self, limit, window):
        self.budget = max(1, limit - 1)
        self.window = window
        self.attempts = []

    def wait(self, args):
        while True:
            now = time.monotonic()
            self.attempts = [t for t in self.attempts if now - t < self.window]
            if len(self.attempts) < self.budget:
                self.attempts.append(now)
                return
            pause = self.window - (now - self.attempts[0]) + 0.05
            if now + pause > args.deadline:
                raise NotDefended("out of time while pacing connection attempts")
            log(f"  (pausing {pause:.1f} s to stay under the connection rate limit)")
            time.sleep(pause)


# ---------------------------------------------------------------------------------------------
# Witness


def greeting_length(args):
    return 12 if args.port_kind == "game" else 4


def preflight(args, kinds=("connect", "game")):
    """Before the attack: the witness connects once to learn which server this is (from its
    greeting) and to prove the server works at all."""
    c, greeting = try_connect(args, args.witness_source, 4, timeout=3.0)
    if c is None:
        raise CannotRun(f"{args.host}:{args.port} did not greet the witness: {greeting}")
    try:
        if greeting == HELLO:
            args.port_kind = "connect"
        elif greeting == JOIN_PREFIX[:4]:
            args.port_kind = "game"
        else:
            raise CannotRun(f"{args.host}:{args.port} is not a MU server (greeting "
                            f"{hexs(greeting)})")
    finally:
        c.close()
    name = "ConnectServer" if args.port_kind == "connect" else "GameServer"
    log(f"target {args.host}:{args.port}: {name} (greeting {hexs(greeting)}); attacker source "
        f"{args.source or 'default'}, witness source {args.witness_source or 'default'}")
    if args.port_kind not in kinds:
        raise CannotRun(f"this attack needs a {' or '.join(kinds)} server; {args.host}:"
                        f"{args.port} is a {name}")
    return args.port_kind


def witness(args, when):
    """A legitimate client from another address: it must get the greeting and, on the
    ConnectServer, an answer to a server list request. Raises NotDefended if it is not served."""
    start = time.monotonic()
    c, greeting = try_connect(args, args.witness_source, greeting_length(args), timeout=3.0)
    if c is None:
        raise NotDefended(f"witness ({args.witness_source or 'default address'}) {when}: "
                          f"not served: {greeting}")
    try:
        if args.port_kind == "game":
            if not greeting.startswith(JOIN_PREFIX):
                raise NotDefended(f"witness {when}: unexpected join {hexs(greeting)}")
            log(f"witness {args.witness_source or ''} {when}: join {hexs(greeting[:5])} ... in "
                f"{(time.monotonic() - start) * 1000:.0f} ms: served")
            return
        if greeting != HELLO:
            raise NotDefended(f"witness {when}: unexpected hello {hexs(greeting)}")
        c.send(LIST_REQUEST)
        head = c.read_exactly(3, 3.0)
        if len(head) < 3 or head[0] != 0xC2:
            raise NotDefended(f"witness {when}: no server list (got {hexs(head)})")
        body = c.read_exactly(((head[1] << 8) | head[2]) - 3, 3.0)
        log(f"witness {args.witness_source or ''} {when}: hello + server list "
            f"({3 + len(body)} bytes) in {(time.monotonic() - start) * 1000:.0f} ms: served")
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# ConnectServer answers


def split_frames(data):
    """Splits a byte stream into whole C1-C4 frames; stops at the first incomplete one."""
    frames = []
    i = 0
    while i + 2 <= len(data):
        t = data[i]
        if t in (0xC1, 0xC3):
            size = data[i + 1]
        elif t in (0xC2, 0xC4) and i + 3 <= len(data):
            size = (data[i + 1] << 8) | data[i + 2]
        else:
            break
        if size < 3 or i + size > len(data):
            break
        frames.append(bytes(data[i:i + size]))
        i += size
    return frames


# ---------------------------------------------------------------------------------------------
# Running a script


def run(main, args):
    """Runs main(args) and turns the outcome into the printed verdict and exit code."""
    try:
        check_target(args)
        detail = main(args)
    except NotDefended as e:
        log(f"VERDICT: NOT DEFENDED: {e}")
        return EXIT_NOT_DEFENDED
    except Unsupported as e:
        log(f"VERDICT: CANNOT RUN (unsupported): {e}")
        return EXIT_UNSUPPORTED
    except CannotRun as e:
        log(f"VERDICT: CANNOT RUN: {e}")
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        log("VERDICT: CANNOT RUN: interrupted")
        return EXIT_CANNOT_RUN
    log(f"VERDICT: DEFENDED: {detail}")
    return EXIT_DEFENDED


def check_time(args):
    if time.monotonic() > args.deadline:
        raise NotDefended(f"the attack did not finish within --max-seconds {args.max_seconds}")


# ---------------------------------------------------------------------------------------------
# GameServer ciphers (PROTOCOL.md section 4)

XOR32_KEY = bytes.fromhex("AB 11 CD FE 18 23 C5 A3 CA 33 C1 CC 66 67 21 F3"
                          "32 12 15 35 29 FF FE 1D 44 EF CD 41 26 3C 4E 4D")
XOR3_KEY = bytes.fromhex("FC CF AB")

# (modulus, encrypt key, decrypt key, xor key), four u32 each.
CLIENT_TO_SERVER = ((128079, 164742, 70235, 106898), (23489, 11911, 19816, 13647),
                    (31544, 2047, 57011, 10183), (48413, 46165, 15171, 37433))
SERVER_TO_CLIENT = ((73326, 109989, 98843, 171058), (13169, 19036, 35482, 29587),
                    (18035, 30340, 24701, 11141), (62004, 64409, 35374, 64599))

DEFAULT_SERIAL = "k1Pk2jcET48mxL3b"
DEFAULT_VERSION = "10404"


def header_size(first_byte):
    if first_byte in (0xC1, 0xC3):
        return 2
    if first_byte in (0xC2, 0xC4):
        return 3
    raise ValueError(f"not a frame type: {first_byte:#04x}")


def xor32_encrypt(packet):
    """Client to server: bytes after header + code, ascending, chained on the previous
    ciphertext byte."""
    out = bytearray(packet)
    h = header_size(out[0])
    for i in range(h + 1, len(out)):
        out[i] ^= out[i - 1] ^ XOR32_KEY[i % 32]
    return bytes(out)


def xor32_decrypt(packet):
    out = bytearray(packet)
    h = header_size(out[0])
    for i in range(len(out) - 1, h, -1):
        out[i] ^= out[i - 1] ^ XOR32_KEY[i % 32]
    return bytes(out)


def xor3(field):
    return bytes(b ^ XOR3_KEY[i % 3] for i, b in enumerate(field))


def _pack_result(r, index, out):
    chunk = ((r & 0xFF) << 10) | (((r >> 8) & 0xFF) << 2) | ((r >> 16) & 0x3)
    bit = 18 * index
    window = chunk << (6 - bit % 8)
    p = bit // 8
    out[p] |= (window >> 16) & 0xFF
    out[p + 1] |= (window >> 8) & 0xFF
    out[p + 2] |= window & 0xFF


def _unpack_result(data, index):
    bit = 18 * index
    p = bit // 8
    window = (data[p] << 16) | (data[p + 1] << 8) | data[p + 2]
    chunk = (window >> (6 - bit % 8)) & 0x3FFFF
    return ((chunk >> 10) & 0xFF) | (((chunk >> 2) & 0xFF) << 8) | ((chunk & 0x3) << 16)


def sm_encrypt_block(keys, plain, size):
    modulus, enc, _, xk = keys
    v = [plain[2 * i] | (plain[2 * i + 1] << 8) for i in range(4)]
    r = [0] * 4
    r[0] = (((xk[0] ^ v[0]) * enc[0]) & 0xFFFFFFFF) % modulus[0]
    for i in range(1, 4):
        r[i] = (((xk[i] ^ v[i] ^ (r[i - 1] & 0xFFFF)) * enc[i]) & 0xFFFFFFFF) % modulus[i]
    for i in range(3):
        r[i] ^= xk[i] ^ (r[i + 1] & 0xFFFF)
    out = bytearray(11)
    for i in range(4):
        _pack_result(r[i], i, out)
    checksum = 0xF8
    for b in plain:
        checksum ^= b
    out[9] = size ^ 0x3D ^ checksum
    out[10] = checksum
    return bytes(out)


def sm_decrypt_block(keys, block):
    """(plain 8 bytes, size) or raises ValueError on a bad size byte or checksum."""
    modulus, _, dec, xk = keys
    size = block[9] ^ block[10] ^ 0x3D
    if not 1 <= size <= 8:
        raise ValueError("SimpleModulus size byte invalid")
    r = [_unpack_result(block, i) for i in range(4)]
    for i in range(3, 0, -1):
        r[i - 1] ^= xk[i - 1] ^ (r[i] & 0xFFFF)
    plain = bytearray(8)
    for i in range(4):
        v = xk[i] ^ (((r[i] * dec[i]) & 0xFFFFFFFF) % modulus[i])
        if i > 0:
            v ^= r[i - 1] & 0xFFFF
        plain[2 * i] = v & 0xFF
        plain[2 * i + 1] = (v >> 8) & 0xFF
    checksum = 0xF8
    for b in plain:
        checksum ^= b
    if checksum != block[10]:
        raise ValueError("SimpleModulus checksum mismatch")
    return bytes(plain), size


class SimpleModulus:
    """One direction of one connection: a packet counter from 0, +1 per C3/C4 packet."""

    def __init__(self, keys):
        self.keys = keys
        self.counter = 0

    def encrypt(self, packet):
        h = header_size(packet[0])
        body = bytes([self.counter]) + packet[h:]
        out = bytearray()
        for start in range(0, len(body), 8):
            chunk = body[start:start + 8]
            out += sm_encrypt_block(self.keys, chunk + bytes(8 - len(chunk)), len(chunk))
        total = h + len(out)
        self.counter = (self.counter + 1) & 0xFF
        head = bytes([packet[0], total]) if h == 2 else bytes([packet[0], total >> 8,
                                                              total & 0xFF])
        return head + bytes(out)

    def decrypt(self, packet):
        h = header_size(packet[0])
        body = packet[h:]
        if not body or len(body) % 11:
            raise ValueError("encrypted body is not a multiple of 11")
        plain = bytearray()
        for j in range(0, len(body), 11):
            block, size = sm_decrypt_block(self.keys, body[j:j + 11])
            plain += block[:size]
        if plain[0] != self.counter:
            raise ValueError(f"packet counter {plain[0]}, expected {self.counter}")
        self.counter = (self.counter + 1) & 0xFF
        total = h + len(plain) - 1
        head = bytes([packet[0], total]) if h == 2 else bytes([packet[0], total >> 8,
                                                              total & 0xFF])
        return head + bytes(plain[1:])


class ClientCipher:
    """What a game client does to its packets: Xor32 for C1/C2, Xor32 then SimpleModulus for
    C3/C4; server packets: SimpleModulus for C3/C4, plain otherwise."""

    def __init__(self):
        self.out = SimpleModulus(CLIENT_TO_SERVER)
        self.inbound = SimpleModulus(SERVER_TO_CLIENT)

    def encrypt(self, packet):
        x = xor32_encrypt(packet)
        return self.out.encrypt(x) if packet[0] in (0xC3, 0xC4) else x

    def decrypt(self, packet):
        return self.inbound.decrypt(packet) if packet[0] in (0xC3, 0xC4) else packet


def field(text, size):
    data = text.encode("ascii")[:size]
    return xor3(data + bytes(size - len(data)))


def login_packet(user, password, tick=123456, version=DEFAULT_VERSION, serial=DEFAULT_SERIAL):
    """The 60-byte Season 6 login (long password), plain (before Xor32 and SimpleModulus)."""
    body = (bytes.fromhex("F1 01") + field(user, 10) + field(password, 20)
            + struct.pack("<I", tick) + version.encode("ascii")[:5]
            + serial.encode("ascii")[:16] + b"\x00")
    return bytes([0xC3, 2 + len(body)]) + body


def ping_packet(tick, attack_speed=0):
    return bytes.fromhex("C3 0C 0E 00") + struct.pack("<IH", tick, attack_speed) + bytes(2)


def chat_packet(name, message):
    """Public chat C1 <len> 00 <name 10> <message 0-terminated>, plain."""
    name_b = name.encode("utf-8")[:10]
    body = b"\x00" + name_b + bytes(10 - len(name_b)) + message.encode("utf-8") + b"\x00"
    return bytes([0xC1, 2 + len(body)]) + body


# ---------------------------------------------------------------------------------------------
# The world (PROTOCOL.md section 5)

LIST_CHARACTERS = bytes.fromhex("C1 05 F3 00 00")
DIRECTIONS = {(-1, -1): 0, (0, -1): 1, (1, -1): 2, (1, 0): 3, (1, 1): 4, (0, 1): 5,
              (-1, 1): 6, (-1, 0): 7}
# Lorencia's spawn area is 133-151 x 118-135: from anywhere in it this tile is at most 9 steps
# away, so two players who walk here see each other whatever view_range (>= 1) says.
MEETING_POINT = (142, 126)


def name_field(name):
    data = name.encode("ascii")[:10]
    return data + bytes(10 - len(data))


def create_packet(name, class_byte=0x10):
    """C1 0F F3 01 <name 10> <class << 4> (default Dark Knight, who starts in Lorencia)."""
    return bytes.fromhex("C1 0F F3 01") + name_field(name) + bytes([class_byte])


def select_packet(name):
    return bytes.fromhex("C1 0E F3 03") + name_field(name)


def walk_packet(x, y, directions, rotation=0):
    """C1 <6 + ceil(n/2)> D4 <x> <y> <rotation << 4 | n> <directions, 4 bits each>."""
    n = min(len(directions), 15)
    steps = bytearray((n + 1) // 2)
    for i, d in enumerate(directions[:n]):
        steps[i // 2] |= (d & 0x0F) << (4 if i % 2 == 0 else 0)
    return bytes([0xC1, 6 + len(steps), 0xD4, x & 0xFF, y & 0xFF, (rotation << 4) | n]) + steps


def path(x, y, tx, ty):
    """Directions of a straight path (diagonal first) from (x, y) to (tx, ty)."""
    out = []
    while (x, y) != (tx, ty):
        dx = (tx > x) - (tx < x)
        dy = (ty > y) - (ty < y)
        out.append(DIRECTIONS[(dx, dy)])
        x, y = x + dx, y + dy
    return out


class WorldPlayer:
    """A logged-in game client that decrypts what the server sends (C3/C4 with the
    server-to-client counter) and keeps the frames it has not looked at yet."""

    def __init__(self, client, cipher, role):
        self.c = client
        self.cipher = cipher
        self.role = role
        self.pending = bytearray()
        self.x = self.y = None

    def send(self, packet):
        return self.c.send(self.cipher.encrypt(packet))

    def frames(self, timeout, settle=0.05):
        """Decrypted frames that arrived within timeout."""
        self.pending += self.c.read_available(timeout, settle=settle)
        out = []
        for f in split_frames(bytes(self.pending)):
            del self.pending[:len(f)]
            out.append(self.cipher.decrypt(f) if f[0] in (0xC3, 0xC4) else f)
        return out

    def wait_for(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for f in self.frames(min(0.2, max(0.01, deadline - time.monotonic())), settle=0.01):
                if f is not None and predicate(f):
                    return f
        return None

    def enter_world(self, character, timeout=5.0):
        """List, create a Dark Knight (or keep the existing one), select, then walk to the
        meeting point. Raises Unsupported when the server has no world."""
        code = lambda c, s: (lambda f: len(f) > 3 and f[0] == 0xC1 and f[2] == c and f[3] == s)
        self.send(LIST_CHARACTERS)
        if self.wait_for(code(0xF3, 0x00), timeout) is None:
            raise Unsupported(f"{self.role}: no character list answer")
        self.send(create_packet(character))
        if self.wait_for(code(0xF3, 0x01), timeout) is None:
            raise Unsupported(f"{self.role}: no answer to create")
        self.send(select_packet(character))
        info = self.wait_for(lambda f: f is not None and len(f) == 72 and f[0] == 0xC3
                             and f[2] == 0xF3 and f[3] == 0x03, timeout)
        if info is None:
            raise Unsupported(f"{self.role}: selecting {character!r} did not enter the world")
        self.x, self.y = info[4], info[5]
        self.walk_to(*MEETING_POINT)
        log(f"{self.role}: {character} in the world at {self.x},{self.y}")

    def walk_to(self, tx, ty):
        steps = path(self.x, self.y, tx, ty)[:15]
        self.send(walk_packet(self.x, self.y, steps))
        for d in steps:
            dx, dy = [k for k, v in DIRECTIONS.items() if v == d][0]
            self.x, self.y = self.x + dx, self.y + dy


def self_test():
    """Checks the ciphers against PROTOCOL.md and the unit-test vectors; returns failures."""
    failures = []

    def expect(name, got, want):
        if got != want:
            failures.append(f"{name}: got {hexs(got)}, want {hexs(want)}")

    expect("xor32 encrypt", xor32_encrypt(bytes.fromhex("C1 06 11 01 02 03")),
           bytes.fromhex("C1 06 11 EE F4 D4"))
    expect("xor32 decrypt", xor32_decrypt(bytes.fromhex("C1 06 11 EE F4 D4")),
           bytes.fromhex("C1 06 11 01 02 03"))
    expect("xor3 test0", field("test0", 10), bytes.fromhex("88 AA D8 88 FF AB FC CF AB FC"))
    ping_wire = bytes.fromhex("C3 18 BC 9D 35 E2 A2 21 22 91 5C 2B 1E 18 63 47 28 C3 10 20"
                              "F1 C4 2A 14")
    sm = SimpleModulus(CLIENT_TO_SERVER)
    after_sm = sm.decrypt(ping_wire)
    expect("ping SimpleModulus", after_sm, bytes.fromhex("C3 0C 0E F0 E9 F9 C2 46 8C BF 7E B2"))
    expect("ping Xor32", xor32_decrypt(after_sm),
           bytes.fromhex("C3 0C 0E 00 01 33 FE 27 00 00 00 00"))
    login = login_packet("test0", "pass")
    expect("login plain", login, bytes.fromhex(
        "C3 3C F1 01 88 AA D8 88 FF AB FC CF AB FC 8C AE D8 8F CF AB FC CF AB FC"
        "CF AB FC CF AB FC CF AB FC CF 40 E2 01 00 31 30 34 30 34 6B 31 50 6B 32"
        "6A 63 45 54 34 38 6D 78 4C 33 62 00"))
    c = ClientCipher()
    expect("login wire counter 0", c.encrypt(login), bytes.fromhex(
        "C3 5A 14 6B 15 DF C3 75 C0 F6 90 84 B1 70 AD 6B 1B C4 AC 70 4F 74 7A 4F"
        "7F 18 55 7E 65 0B 41 06 8C 1C 29 6E D4 37 C7 DD 82 E3 E1 B0 A7 92 F2 64"
        "0E D4 93 76 E1 A0 80 53 66 2E 67 65 A9 8A BB F5 CA 2C 7D 48 35 52 44 43"
        "9E D3 F0 A8 C1 1B 2E 0B 21 4D 64 C4 47 70 69 C9 4A 74"))
    expect("login wire counter 1", c.encrypt(login), bytes.fromhex(
        "C3 5A A4 8B 3E 71 8B D2 A1 AB 5C 85 B0 70 AD 6B 1B C4 AC 70 4F 74 7A 4F"
        "7F 18 55 7E 65 0B 41 06 8C 1C 29 6E D4 37 C7 DD 82 E3 E1 B0 A7 92 F2 64"
        "0E D4 93 76 E1 A0 80 53 66 2E 67 65 A9 8A BB F5 CA 2C 7D 48 35 52 44 43"
        "9E D3 F0 A8 C1 1B 2E 0B 21 4D 64 C4 47 70 69 C9 4A 74"))
    logout = ClientCipher()
    expect("logout wire counter 0", logout.encrypt(bytes.fromhex("C3 05 F1 02 00")),
           bytes.fromhex("C3 0D C9 30 21 0A 56 2A 21 99 5D 28 11"))
    expect("logout wire counter 1", logout.encrypt(bytes.fromhex("C3 05 F1 02 00")),
           bytes.fromhex("C3 0D F9 7A 3C E6 5F 2F 61 CA 94 29 10"))
    # Server to client round trip: what the server encrypts, the client decrypts.
    server = SimpleModulus(SERVER_TO_CLIENT)
    answer = bytes.fromhex("C3 05 F1 02 01")
    expect("server round trip", ClientCipher().decrypt(server.encrypt(answer)), answer)
    expect("walk example (PROTOCOL.md 5.4)", walk_packet(140, 125, [4, 4], rotation=4),
           bytes.fromhex("C1 07 D4 8C 7D 42 44"))
    return failures


if __name__ == "__main__":
    problems = self_test()
    for p in problems:
        print("FAIL", p)
    print(f"muwarden_attack cipher self-test: {len(problems)} check(s) failed" if problems
          else "muwarden_attack cipher self-test: all 12 PROTOCOL.md and unit-test vectors match")
    sys.exit(1 if problems else 0)
