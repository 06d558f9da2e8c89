#!/usr/bin/python3
"""tests/integration/raw_peer.py: a hostile peer for fednode's peer endpoint,
written from doc/protocol.md section 4 alone (no code of the project).

    raw_peer.py DATA_DIR PEER_ENDPOINT FEDCTL HANDSHAKE_MS WORK_DIR GROUP

DATA_DIR is a running node's data dir: its node.key gives the CURVE server
key to pin, its admin.key lets FEDCTL read members and metrics and trust the
test's own keys (made in WORK_DIR) as peers. HANDSHAKE_MS is the node's
limits.handshake_timeout. GROUP is one of:

  hostile  raw TCP garbage and silent connections (closed, the second
           within the handshake timeout); pending (untrusted) CURVE keys
           sending PING, EVENTS, HELLOs without a valid token, with another
           key's id, or twice (ERROR forbidden, token, identity; counted);
           trusted keys sending envelope version 2 (ERROR version), a HELLO
           naming another key (ERROR identity), frames after losing the
           role, a barrage of malformed and oversized frames (dropped and
           counted by reason, never answered), false news about the node
           itself; a member whose connection the node opens (its HELLO and
           PING as the document says, malformed answers counted); a flood of
           pending handshakes (rate-limited).
  errors   a well-formed ERROR from a trusted key, and from a member on the
           node's own connection to it: never answered, the node carries on.

After each part it checks that the node answers a PING, fedctl status, and
keeps its members alive. Prints "ok - ..." / "FAIL - ..." lines and exits 1
if any check failed, 77 (automake's SKIP) if this python lacks zmq or
msgpack. Run by test_join.sh with Debian's /usr/bin/python3.
"""
import json
import math
import os
import selectors
import socket
import struct
import subprocess
import sys
import time

try:
    import msgpack
    import zmq
    from zmq.utils import z85
except ImportError as e:
    print("skip - %s lacks %s" % (sys.executable, e.name))
    sys.exit(77)

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The CURVE key derivation of doc/protocol.md 3.1, shared with raw_control.py.
from raw_control import (curve_public_from_ed25519, curve_secret_from_seed,  # noqa: E402
                         key_file_field)

REPLY_MS = 3000  # how long an expected answer may take
QUIET_MS = 700   # how long we listen to be sure no answer comes
U64_MAX = 2**64 - 1

# Known bugs (test_join.sh passes its list): a failing check inside
# `with bug(NAME)` is printed as "known bug" while NAME is listed, and a
# group of marked checks that all pass is a failure, so the mark goes with
# the fix.
KNOWN_BUGS = os.environ.get("FED_KNOWN_BUGS", "").split()
marks = []
failures = 0
checks = 0
known = 0


def ok(name):
    global checks
    checks += 1
    print("ok - " + name)


def fail(name):
    global checks, failures, known
    checks += 1
    if marks and marks[-1] in KNOWN_BUGS:
        known += 1
        print("known bug %s - %s" % (marks[-1], name))
        return
    failures += 1
    print("FAIL - " + name)


class bug:
    """with bug(NAME): checks of behaviour that known bug NAME breaks."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.known = known
        marks.append(self.name)

    def __exit__(self, *exc):
        marks.pop()
        if self.name in KNOWN_BUGS and known == self.known:
            fail("the checks above are marked bug %s but passed: remove %s from FED_KNOWN_BUGS"
                 % (self.name, self.name))
        return False


def expect(name, expected, got):
    if expected == got:
        ok(name)
    else:
        fail("%s: expected %r, got %r" % (name, expected, got))


def expect_true(name, condition, detail):
    if condition:
        ok(name)
    else:
        fail("%s: %s" % (name, detail))


# --- the node, through fedctl ----------------------------------------------------

class Node:
    def __init__(self, data_dir, endpoint, fedctl):
        self.data_dir, self.endpoint, self.fedctl = data_dir, endpoint, fedctl
        host, port = endpoint[len("tcp://"):].rsplit(":", 1)
        self.address = (host, int(port))
        self.pk = key_file_field(os.path.join(data_dir, "node.key"), "public")
        self.id = z85.encode(self.pk).decode()
        self.server = z85.encode(curve_public_from_ed25519(self.pk))

    def ctl(self, *args):
        """fedctl ARGS as the node's admin: (exit status, stdout and stderr)."""
        out = subprocess.run([self.fedctl, "--data-dir", self.data_dir, "--timeout", "2s"]
                             + list(args), capture_output=True, text=True, timeout=20)
        return out.returncode, out.stdout + out.stderr

    def metrics(self):
        """{'name{labels}': value} from fedctl metrics, or {} if it failed."""
        rc, text = self.ctl("metrics")
        samples = {}
        if rc != 0:
            return samples
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def member_list(self):
        """fedctl members --json, or [] if it failed."""
        rc, text = self.ctl("members", "--json")
        return json.loads(text) if rc == 0 else []

    def members(self):
        """{z85 id: state}."""
        return {m["id"]: m["state"] for m in self.member_list()}

    def incarnation(self):
        """The node's own incarnation in its members, or None."""
        for m in self.member_list():
            if m.get("self"):
                return m.get("incarnation")
        return None


def dropped(samples, reason):
    return samples.get('fednode_peer_frames_dropped_total{reason="%s"}' % reason, 0)


def delta(before, after, name):
    return after.get(name, 0) - before.get(name, 0)


REFUSED_JOINS = 'fednode_joins_total{result="refused"}'
ADMITTED_JOINS = 'fednode_joins_total{result="admitted"}'


def well_behaved(node):
    """The ids of the node's alive members, itself included, but for the
    members this script plays (named raw-...)."""
    return sorted(m["id"] for m in node.member_list()
                  if m.get("state") == "alive" and not str(m.get("name")).startswith("raw-"))


def still_serving(node, name, alive_before):
    """The node answers fedctl status and still has every member alive that
    was alive before (its well-behaved peers)."""
    rc, out = node.ctl("status")
    expect(name + ": fedctl status still answers", 0, rc)
    members = node.members()
    lost = sorted(m for m in alive_before if members.get(m) != "alive")
    expect(name + ": members alive before are still alive", [], lost)


# --- keys ---------------------------------------------------------------------------

class Key:
    """An ed25519 identity (fedctl keygen) and its CURVE keys (protocol 3.1)."""

    def __init__(self, node, work, name):
        out = subprocess.run([node.fedctl, "keygen", name], cwd=work, capture_output=True,
                             text=True, timeout=20)
        if out.returncode != 0:
            raise RuntimeError("fedctl keygen %s: %s" % (name, out.stderr))
        self.path = os.path.join(work, name + ".key")
        self.pub = os.path.join(work, name + ".pub")
        self.pk = key_file_field(self.path, "public")
        self.id = z85.encode(self.pk).decode()
        secret = curve_secret_from_seed(key_file_field(self.path, "secret"), clamp=True)
        self.curve_secret = z85.encode(secret)
        self.curve_public = zmq.curve_public(self.curve_secret)


def trusted_key(node, work, name):
    """A new key the node trusts as a peer (fedctl trust add)."""
    key = Key(node, work, name)
    rc, out = node.ctl("trust", "add", key.pub, "--role", "peer", "--name", name)
    expect("trust add %s (role peer)" % name, 0, rc)
    return key


def random_curve():
    """A CURVE keypair with no ed25519 identity behind it: (public, secret) Z85."""
    return zmq.curve_keypair()


# --- messages (doc/protocol.md 4.2, 4.3) -------------------------------------------

def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def unpack(frame):
    """A frame decoded, or the raw bytes if it is not msgpack."""
    try:
        return msgpack.unpackb(frame, raw=False)
    except Exception:
        return frame


def location(**over):
    loc = {"region": None, "zone": None, "site": None, "lat": None, "lon": None, "labels": {}}
    loc.update(over)
    return loc


def hello_body(pk, **over):
    body = {"id": pk, "name": "raw-peer", "endpoint": "tcp://127.0.0.1:9",
            "location": location(), "protocol": 1, "incarnation": 0}
    body.update(over)
    return body


def ping(seq, **over):
    body = {"seq": seq, "incarnation": 0, "updates": []}
    body.update(over)
    return pack([1, "PING", body])


def update(pk, **over):
    u = {"node": pk, "state": "alive", "incarnation": 0, "endpoint": "tcp://127.0.0.1:9",
         "name": "ghost"}
    u.update(over)
    return u


def nested(depth):
    """depth arrays, one inside the other, the innermost empty."""
    v = []
    for _ in range(depth - 1):
        v = [v]
    return v


# What the node sends must follow the document too.

def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= U64_MAX


def is_str(v, low, high):
    return isinstance(v, str) and low <= len(v.encode()) <= high and "\x00" not in v


def is_bin32(v):
    return isinstance(v, bytes) and len(v) == 32


def update_problems(u):
    if not isinstance(u, dict):
        return ["an update is not a map: %r" % (u,)]
    problems = []
    if not is_bin32(u.get("node")):
        problems.append("node is not bin32")
    if u.get("state") not in ("alive", "suspect", "dead", "left"):
        problems.append("state %r" % (u.get("state"),))
    if not is_uint(u.get("incarnation")):
        problems.append("incarnation %r" % (u.get("incarnation"),))
    if not is_str(u.get("endpoint"), 1, 256):
        problems.append("endpoint %r" % (u.get("endpoint"),))
    if not is_str(u.get("name"), 1, 64):
        problems.append("name %r" % (u.get("name"),))
    return problems


def updates_problems(updates):
    if not isinstance(updates, list) or len(updates) > 64:
        return ["updates is not an array of at most 64: %r" % (updates,)]
    return [p for u in updates for p in update_problems(u)]


def hello_problems(body, pk):
    if not isinstance(body, dict):
        return ["the body is not a map"]
    problems = []
    if body.get("id") != pk:
        problems.append("id is not the node's key")
    if not is_str(body.get("name"), 1, 64):
        problems.append("name %r" % (body.get("name"),))
    endpoint = body.get("endpoint")
    if not (is_str(endpoint, 1, 256) and endpoint.startswith("tcp://")):
        problems.append("endpoint %r" % (endpoint,))
    if body.get("protocol") != 1:
        problems.append("protocol %r" % (body.get("protocol"),))
    if not is_uint(body.get("incarnation")):
        problems.append("incarnation %r" % (body.get("incarnation"),))
    if body.get("token") is not None:
        problems.append("a token (this node is no joiner here)")
    loc = body.get("location")
    if not isinstance(loc, dict):
        return problems + ["location is not a map"]
    for tag in ("region", "zone", "site"):
        if tag not in loc or not (loc[tag] is None or is_str(loc[tag], 0, 64)):
            problems.append("location.%s %r" % (tag, loc.get(tag, "(missing)")))
    for coord, limit in (("lat", 90), ("lon", 180)):
        v = loc.get(coord, "(missing)")
        if not (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                              and -limit <= v <= limit)):
            problems.append("location.%s %r" % (coord, v))
    if not isinstance(loc.get("labels"), dict) or len(loc["labels"]) > 64:
        problems.append("location.labels %r" % (loc.get("labels"),))
    return problems


class Peer:
    """A CURVE DEALER to the node, one frame per message."""

    def __init__(self, ctx, node, public, secret):
        s = ctx.socket(zmq.DEALER)
        s.curve_publickey = public
        s.curve_secretkey = secret
        s.curve_serverkey = node.server
        s.linger = 0
        s.sndtimeo = REPLY_MS
        s.connect(node.endpoint)
        self.sock = s

    def send(self, frames):
        if isinstance(frames, list):
            self.sock.send_multipart(frames)
        else:
            self.sock.send(frames)

    def recv(self, timeout_ms):
        """The next message decoded, or None if nothing came in timeout_ms."""
        if not self.sock.poll(timeout_ms):
            return None
        return unpack(self.sock.recv())

    def close(self):
        self.sock.close(linger=0)


def is_message(reply, kind):
    return (isinstance(reply, list) and len(reply) == 3 and reply[0] == 1 and reply[1] == kind
            and isinstance(reply[2], dict))


def expect_error(name, peer, code, text_has=None):
    """The next message must be [1, "ERROR", {code, text}] with code."""
    reply = peer.recv(REPLY_MS)
    good = (is_message(reply, "ERROR") and is_str(reply[2].get("code"), 1, 32)
            and is_str(reply[2].get("text"), 0, 512))
    if not good:
        fail("%s: expected [1, 'ERROR', {code: '%s', text}] within %d ms, got %r"
             % (name, code, REPLY_MS, reply))
        return
    expect("%s -> ERROR %s (%s)" % (name, code, reply[2]["text"][:70]), code, reply[2]["code"])
    if text_has is not None:
        expect_true("%s: the text says '%s'" % (name, text_has), text_has in reply[2]["text"],
                    "got %r" % reply[2]["text"])


def expect_quiet(name, peer, ms=QUIET_MS):
    reply = peer.recv(ms)
    if reply is None:
        ok("%s: no answer in %d ms" % (name, ms))
    else:
        fail("%s: expected no answer, got %r" % (name, reply))


def expect_ack(name, peer, seq, **over):
    """Sends PING seq (with over's fields); the answer must be
    [1, "ACK", {seq, updates}], the updates as the document says."""
    peer.send(ping(seq, **over))
    deadline = time.monotonic() + REPLY_MS / 1000
    while time.monotonic() < deadline:
        reply = peer.recv(int((deadline - time.monotonic()) * 1000) + 1)
        if reply is None:
            break
        if is_message(reply, "ACK"):
            expect(name + ": PING answered by ACK with its seq", seq, reply[2].get("seq"))
            expect(name + ": the ACK's updates are well-formed", [],
                   updates_problems(reply[2].get("updates")))
            return
    fail("%s: expected [1, 'ACK', {seq: %d}] within %d ms, got nothing" % (name, seq, REPLY_MS))


# --- raw TCP --------------------------------------------------------------------------

def watch_closed(socks, limit_s):
    """Reads (and discards) from each socket until the node closes it.
    Returns each socket's seconds until EOF or reset, None if still open
    after limit_s."""
    sel = selectors.DefaultSelector()
    start = time.monotonic()
    closed = [None] * len(socks)
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    while any(c is None for c in closed):
        left = limit_s - (time.monotonic() - start)
        if left <= 0:
            break
        for key, _ in sel.select(left):
            i = key.data
            try:
                data = socks[i].recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if not data:
                closed[i] = time.monotonic() - start
                sel.unregister(socks[i])
    sel.close()
    for s in socks:
        s.close()
    return closed


def tcp_open(node, data):
    """A TCP connection to the peer port that has sent data (the node may
    close it half-way: fine)."""
    s = socket.create_connection(node.address, timeout=REPLY_MS / 1000)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        s.sendall(data)
    except OSError:
        pass
    return s


def test_tcp(node, handshake_ms, alive_before):
    signature = b"\xff" + bytes(8) + b"\x7f"  # ZMTP 3: what a real peer sends first
    # Garbage: closed as soon as the node sees it is no ZMTP/CURVE greeting.
    garbage = [
        ("256 random bytes", b"\x01" + os.urandom(255)),
        ("a ZMTP signature then random bytes", signature + os.urandom(246)),
        ("an HTTP request", b"GET / HTTP/1.1\r\nHost: fednode\r\n\r\n"),
        ("1 MiB of random bytes", b"\x00" + os.urandom((1 << 20) - 1)),
    ]
    socks = [tcp_open(node, data) for _, data in garbage]
    bound = handshake_ms / 2000
    for (name, _), t in zip(garbage, watch_closed(socks, bound + 5)):
        expect_true("tcp garbage (%s): closed by the node in %s ms"
                    % (name, "-" if t is None else int(t * 1000)),
                    t is not None and t <= bound,
                    "expected within %d ms (half the handshake timeout), got %s"
                    % (bound * 1000, "still open" if t is None else "%d ms" % (t * 1000)))
    still_serving(node, "after tcp garbage", alive_before)

    # Silent and stalled handshakes: closed by limits.handshake_timeout.
    stalled = [("silent connection 1", b""), ("silent connection 2", b""),
               ("the ZMTP signature, then nothing", signature),
               ("a whole ZMTP 3.0 CURVE greeting, then nothing",
                signature + b"\x03\x00" + b"CURVE".ljust(20, b"\x00") + bytes(32))]
    socks = [tcp_open(node, data) for _, data in stalled]
    slack_ms = 1000
    for (name, _), t in zip(stalled, watch_closed(socks, (handshake_ms + slack_ms) / 1000 + 5)):
        expect_true("tcp %s: closed by the node in %s ms (handshake_timeout %d ms + %d ms slack)"
                    % (name, "-" if t is None else int(t * 1000), handshake_ms, slack_ms),
                    t is not None and t * 1000 <= handshake_ms + slack_ms,
                    "got %s" % ("still open" if t is None else "%d ms" % (t * 1000)))


# --- pending (untrusted) CURVE keys ---------------------------------------------------

def test_pending(ctx, node, work, alive_before):
    before = node.metrics()
    p1 = Peer(ctx, node, *random_curve())
    p1.send(ping(1))
    expect_error("pending key: PING", p1, "forbidden")
    # A second forbidden frame within the minute: dropped, counted, not answered.
    p1.send(pack([1, "EVENTS", {"events": [b"\x98\x01" + os.urandom(120)]}]))
    expect_quiet("pending key: EVENTS after the ERROR", p1)
    p1.close()

    p2 = Key(node, work, "pending-hello")
    peer = Peer(ctx, node, p2.curve_public, p2.curve_secret)
    peer.send(pack([1, "HELLO", hello_body(p2.pk)]))
    expect_error("pending key: HELLO without a token", peer, "token", "join token")
    peer.close()

    peer = Peer(ctx, node, *random_curve())
    peer.send(pack([1, "HELLO", hello_body(p2.pk)]))
    expect_error("pending key: HELLO whose id is another key", peer, "identity")
    peer.close()

    p3 = Key(node, work, "pending-badtoken")
    peer = Peer(ctx, node, p3.curve_public, p3.curve_secret)
    peer.send(pack([1, "HELLO", hello_body(p3.pk, token="fedtok-0badc0de-" + "x" * 40)]))
    expect_error("pending key: HELLO with a made-up token", peer, "token", "unknown join token")
    after = node.metrics()
    expect("forbidden frames counted (PING, EVENTS)", 2,
           delta(before, after, 'fednode_peer_frames_dropped_total{reason="forbidden"}'))
    expect("refused joins counted (no token, made-up token)", 2,
           delta(before, after, REFUSED_JOINS))
    expect("no join admitted", 0, delta(before, after, ADMITTED_JOINS))

    # "A pending connection may send one HELLO carrying a join token and
    # nothing else": a second HELLO is something else.
    for i in range(10):
        peer.send(pack([1, "HELLO", hello_body(p3.pk, token="fedtok-0badc0de-%040d" % i)]))
    expect_quiet("pending key: 10 more HELLOs on the same connection", peer)
    again = node.metrics()
    with bug("pending-hellos"):
        expect("the 10 more HELLOs are dropped as forbidden", 10,
               delta(after, again, 'fednode_peer_frames_dropped_total{reason="forbidden"}'))
        expect("and are not taken as join attempts (refused joins unchanged)", 0,
               delta(after, again, REFUSED_JOINS))
    peer.close()

    members = node.members()
    rc, trusted = node.ctl("trust", "list", "--json")
    for key in (p2, p3):
        expect("pending key %s... is not a member" % key.id[:8], None, members.get(key.id))
        expect_true("pending key %s... is not trusted" % key.id[:8],
                    rc == 0 and key.pk.hex() not in trusted, "trust list: %s" % trusted)
    still_serving(node, "after the pending keys", alive_before)


def test_pending_rate(ctx, node, alive_before):
    """Pending handshakes beyond limits.pending_joins a second are refused."""
    before = node.metrics()
    start = time.monotonic()
    peers = [Peer(ctx, node, *random_curve()) for _ in range(60)]
    for p in peers:
        p.send(ping(1))
    answered = 0
    deadline = time.monotonic() + 1.5
    for p in peers:
        if p.recv(max(1, int((deadline - time.monotonic()) * 1000))) is not None:
            answered += 1
    for p in peers:
        p.close()
    elapsed = time.monotonic() - start
    refused = delta(before, node.metrics(), 'fednode_handshakes_total{result="refused"}')
    expect_true("60 pending handshakes at once: %d refused over the rate" % refused, refused > 0,
                'expected some (fednode_handshakes_total{result="refused"}), got none')
    expect_true("and only %d of 60 got in (and an ERROR) in %.1f s" % (answered, elapsed),
                0 < answered < 60, "expected some but not all")
    still_serving(node, "after the pending flood", alive_before)


# --- trusted keys -------------------------------------------------------------------

def test_trusted(ctx, node, work, alive_before):
    t1 = trusted_key(node, work, "trusted-version")
    t2 = trusted_key(node, work, "trusted-identity")
    before = node.metrics()

    peer = Peer(ctx, node, t1.curve_public, t1.curve_secret)
    peer.send(pack([2, "HELLO", hello_body(t1.pk)]))
    expect_error("trusted key: [2, HELLO, {...}]", peer, "version")
    peer.send(pack([0, "PING", {"seq": 1}]))
    expect_quiet("trusted key: then [0, PING, ...] (one ERROR a minute)", peer)
    peer.close()

    peer = Peer(ctx, node, t2.curve_public, t2.curve_secret)
    peer.send(pack([1, "HELLO", hello_body(t1.pk, name="impostor")]))
    expect_error("trusted key: HELLO whose id is another trusted key", peer, "identity")
    peer.close()

    expect("version drops counted", 2,
           delta(before, node.metrics(), 'fednode_peer_frames_dropped_total{reason="version"}'))
    members = node.members()
    for key in (t1, t2):
        expect("trusted key %s... (refused HELLO) is not a member" % key.id[:8], None,
               members.get(key.id))

    # A key removed while connected: its next frames are dropped.
    t3 = trusted_key(node, work, "trusted-removed")
    peer = Peer(ctx, node, t3.curve_public, t3.curve_secret)
    expect_ack("trusted key, before trust remove", peer, 1)
    rc, out = node.ctl("trust", "remove", t3.pub)
    expect("trust remove trusted-removed", 0, rc)
    before = node.metrics()
    peer.send(ping(2))
    expect_quiet("the removed key's next PING", peer)
    expect("dropped as untrusted", 1,
           delta(before, node.metrics(), 'fednode_peer_frames_dropped_total{reason="untrusted"}'))
    peer.close()
    still_serving(node, "after version, identity and a removed key", alive_before)


def malformed_frames(pk):
    """(name, frames, reason): each must be dropped and counted under reason
    (None: counted, the reason not fixed by the document)."""
    good = ping(7)
    big_labels = {"k%d" % i: "v" for i in range(65)}
    many = [update(os.urandom(32)) for _ in range(65)]
    dup_key = (b"\x93\x01\xa4PING\x84" + b"\xa3seq\x07" + b"\xa3seq\x08"
               + b"\xabincarnation\x00" + b"\xa7updates\x90")
    return [
        ("truncated msgpack (the first 5 bytes of a PING)", good[:5], "malformed"),
        ("a PING missing its last byte", good[:-1], "malformed"),
        ("a PING and a trailing byte", good + b"\xc0", "malformed"),
        ("an empty frame", b"", "malformed"),
        ("not msgpack at all", b"\xc1\xc1\xc1 garbage", "malformed"),
        ("a msgpack int", pack(42), "malformed"),
        ("an array of 2", pack([1, "PING"]), "malformed"),
        ("an array of 4", pack([1, "PING", {"seq": 1, "incarnation": 0, "updates": []}, 0]),
         "malformed"),
        ("body not a map", pack([1, "PING", [1, 2]]), "malformed"),
        ("type not a str", pack([1, 3, {}]), "malformed"),
        ("PING seq as a str", ping("7"), "malformed"),
        ("PING seq negative", ping(-1), "malformed"),
        ("PING without updates", pack([1, "PING", {"seq": 7, "incarnation": 0}]), "malformed"),
        ("PING with seq twice", dup_key, "malformed"),
        ("PING with an int key in its body",
         pack([1, "PING", {"seq": 7, "incarnation": 0, "updates": [], 1: 2}]), "malformed"),
        ("PING update with state ALIVE", ping(7, updates=[update(pk, state="ALIVE")]),
         "malformed"),
        ("PING update with a 31-byte node", ping(7, updates=[update(pk[:31])]), "malformed"),
        ("HELLO name with a NUL", pack([1, "HELLO", hello_body(pk, name="a\x00b")]),
         "malformed"),
        ("HELLO name not UTF-8",
         pack([1, "HELLO", hello_body(pk, name="@@")]).replace(b"\xa2@@", b"\xa2\xc3\x28"),
         "malformed"),
        ("HELLO lat 91", pack([1, "HELLO", hello_body(pk, location=location(lat=91.0, lon=0.0))]),
         "malformed"),
        ("HELLO lat NaN",
         pack([1, "HELLO", hello_body(pk, location=location(lat=math.nan, lon=0.0))]),
         "malformed"),
        ("HELLO location without labels",
         pack([1, "HELLO", hello_body(pk, location={"region": None, "zone": None, "site": None,
                                                    "lat": None, "lon": None})]), "malformed"),
        ("WANT with to < from", pack([1, "WANT", {"origin": pk, "from": 5, "to": 4}]),
         "malformed"),
        ("DIGEST origins out of order",
         pack([1, "DIGEST", {"vv": [[b"\x02" * 32, 1], [b"\x01" * 32, 1]]}]), "malformed"),
        ("EVENTS with an empty event", pack([1, "EVENTS", {"events": [b""]}]), "malformed"),
        ("an array32 header declaring 4 billion elements", b"\xdd\xff\xff\xff\xff", None),
        ("two frames", [good, good], None),
        ("[1, PONG, {}] (unknown type)", pack([1, "PONG", {}]), "type"),
        ("[1, ping, ...] (type in lower case)",
         pack([1, "ping", {"seq": 7, "incarnation": 0, "updates": []}]), "type"),
        ("HELLO name of 65 bytes", pack([1, "HELLO", hello_body(pk, name="n" * 65)]), "limit"),
        ("HELLO endpoint of 257 bytes",
         pack([1, "HELLO", hello_body(pk, endpoint="tcp://" + "h" * 246 + ":1234")]), "limit"),
        ("HELLO token of 129 bytes", pack([1, "HELLO", hello_body(pk, token="t" * 129)]),
         "limit"),
        ("HELLO with 65 labels",
         pack([1, "HELLO", hello_body(pk, location=location(labels=big_labels))]), "limit"),
        ("PING with 65 updates", ping(7, updates=many), "limit"),
        ("MEMBERS with 65 updates", pack([1, "MEMBERS", {"updates": many}]), "limit"),
        ("ERROR code of 33 bytes", pack([1, "ERROR", {"code": "c" * 33, "text": ""}]), "limit"),
        ("ERROR text of 513 bytes", pack([1, "ERROR", {"code": "busy", "text": "t" * 513}]),
         "limit"),
        ("PING nesting 17 levels in an ignored key", ping(7, x=nested(15)), "limit"),
    ]


def check_drops(name, frames, before, after):
    """The node dropped and counted every frame, each under its reason."""
    reasons = ["malformed", "limit", "type", "version"]
    total = sum(dropped(after, r) - dropped(before, r) for r in reasons)
    expect("%s: all %d dropped and counted" % (name, len(frames)), len(frames), total)
    open_ = sum(1 for _, _, r in frames if r is None)
    for reason in reasons:
        want = [n for n, _, r in frames if r == reason]
        got = dropped(after, reason) - dropped(before, reason)
        # The frames whose reason the document leaves open are counted as
        # malformed or not at all here.
        top = len(want) + (open_ if reason == "malformed" else 0)
        expect_true("%s: %d dropped as %s (expected %d%s)" % (name, got, reason, len(want),
                                                              " to %d" % top if top > len(want)
                                                              else ""),
                    len(want) <= got <= top, "the frames: %s" % "; ".join(want))


def test_malformed(ctx, node, work, alive_before):
    t = trusted_key(node, work, "trusted-malformed")
    peer = Peer(ctx, node, t.curve_public, t.curve_secret)
    expect_ack("trusted key, first", peer, 1)
    # Near the limits but within them: taken (so the drops below are for
    # the reason named, not for our own encoding).
    expect_ack("a PING with a key the document does not list (ignored)", peer, 2,
               later_field={"any": [1, 2, 3]})
    expect_ack("a PING nesting exactly 16 levels", peer, 3, x=nested(14))
    ghosts = [os.urandom(32) for _ in range(64)]
    expect_ack("a PING with 64 updates about untrusted nodes", peer, 4,
               updates=[update(g, endpoint="tcp://" + "h" * 245 + ":1234", name="n" * 64)
                        for g in ghosts])
    members = node.members()
    expect("none of the 64 untrusted nodes became a member", [],
           [z85.encode(g).decode() for g in ghosts if z85.encode(g).decode() in members])

    frames = malformed_frames(t.pk)
    before = node.metrics()
    for _, data, _ in frames:
        peer.send(data)
    expect_quiet("%d malformed frames" % len(frames), peer)
    check_drops("malformed frames", frames, before, node.metrics())
    expect_ack("trusted key, after the malformed frames", peer, 5)

    # Over limits.wire_message (4 MiB): ZeroMQ refuses the frame and drops
    # the connection; the DEALER reconnects and the node carries on.
    peer.send(b"\x93\x01\xa6EVENTS\x81\xa6events\x91\xc6" + struct.pack(">I", 5 << 20)
              + bytes(5 << 20))
    expect_quiet("a 5 MiB frame (over limits.wire_message)", peer)
    expect_ack("trusted key, after the oversized frame", peer, 6)
    peer.close()
    still_serving(node, "after the malformed frames", alive_before)


def wait_incarnation(node, old, ms=1500):
    """The node's own incarnation once it differs from old (or after ms)."""
    deadline = time.monotonic() + ms / 1000
    while True:
        now = node.incarnation()
        if now != old or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


def test_lies(ctx, node, work, alive_before):
    """A trusted peer gossips that the node itself is suspect or dead: the
    node refutes by raising its incarnation, which never goes back."""
    t = trusted_key(node, work, "trusted-liar")
    peer = Peer(ctx, node, t.curve_public, t.curve_secret)
    inc = node.incarnation()
    for state in ("suspect", "dead"):
        peer.send(pack([1, "MEMBERS", {"updates": [update(node.pk, state=state, incarnation=inc,
                                                          name="liar's news")]}]))
        new = wait_incarnation(node, inc)
        expect_true("'%s' about the node at its incarnation %d: refuted (now %s)"
                    % (state, inc, new), is_uint(new) and new > inc,
                    "expected an incarnation above %d" % inc)
        inc = new if is_uint(new) else inc
    peer.send(pack([1, "MEMBERS", {"updates": [update(node.pk, state="suspect",
                                                      incarnation=U64_MAX)]}]))
    new = wait_incarnation(node, inc)
    with bug("incarnation-wrap"):
        expect_true("'suspect' at incarnation 2^64-1: the node's incarnation does not go back "
                    "(%s -> %s)" % (inc, new), is_uint(new) and new >= inc,
                    "expected at least %d" % inc)
    expect("the node still lists itself alive", "alive", node.members().get(node.id))
    peer.close()
    still_serving(node, "after false news", alive_before)


def test_endpoints(ctx, node, work, alive_before):
    """A HELLO's endpoint is where peers reach the sender, tcp://host:port
    (protocol 4.3.1): one of another form is not taken, or the node would
    connect wherever a peer says, on its own host (ipc) or inside its own
    process (inproc: not tried here, see FED_KNOWN_BUGS in test_join.sh)."""
    key = trusted_key(node, work, "trusted-ipc-endpoint")
    peer = Peer(ctx, node, key.curve_public, key.curve_secret)
    endpoint = "ipc://%s/raw-peer.sock" % work
    before = node.metrics()
    peer.send(pack([1, "HELLO", hello_body(key.pk, name="raw-ipc", endpoint=endpoint)]))
    reply = peer.recv(QUIET_MS)
    after = node.metrics()
    with bug("endpoint-form"):
        expect("a HELLO with endpoint %s is not taken (no MEMBERS)" % endpoint, None,
               reply[1] if isinstance(reply, list) and len(reply) == 3 else reply)
        expect("it is dropped and counted", 1,
               sum(dropped(after, r) - dropped(before, r)
                   for r in ("malformed", "limit", "type", "version")))
        expect("and its sender is no member", None, node.members().get(key.id))
    peer.close()
    still_serving(node, "after a HELLO with an ipc endpoint", alive_before)


# --- a member the node connects to ------------------------------------------------

class Member:
    """A trusted key serving its own CURVE ROUTER, announced to the node by a
    HELLO: the node adds it and connects to it as to any member."""

    def __init__(self, ctx, node, key, name):
        self.node, self.key = node, key
        r = ctx.socket(zmq.ROUTER)
        r.curve_server = True
        r.curve_secretkey = key.curve_secret
        r.curve_publickey = key.curve_public
        r.linger = 0
        r.bind("tcp://127.0.0.1:0")
        self.router = r
        self.endpoint = r.getsockopt_string(zmq.LAST_ENDPOINT)
        self.routing = None
        self.dealer = Peer(ctx, node, key.curve_public, key.curve_secret)
        self.dealer.send(pack([1, "HELLO", hello_body(key.pk, name=name,
                                                      endpoint=self.endpoint)]))

    def recv(self, ms):
        """The next message the node sends on its connection to us, or None.
        Other members connect to us too (the node's trust.added for our key
        replicates to them): the node's connection is the one whose HELLO
        names the node's key, and only its messages count here (PINGs from
        the others are answered, as a member would)."""
        deadline = time.monotonic() + ms / 1000
        while True:
            left = int((deadline - time.monotonic()) * 1000)
            if left <= 0 or not self.router.poll(left):
                return None
            frames = self.router.recv_multipart()
            msg = unpack(frames[1]) if len(frames) == 2 else frames[1:]
            if (self.routing is None and is_message(msg, "HELLO")
                    and isinstance(msg[2], dict) and msg[2].get("id") == self.node.pk):
                self.routing = frames[0]
            if frames[0] == self.routing:
                return msg
            if is_message(msg, "PING"):  # another member probing us: a member answers
                self.router.send_multipart(
                    [frames[0], pack([1, "ACK", {"seq": msg[2].get("seq"), "updates": []}])])

    def recv_type(self, kind, ms):
        """The next message of that type (others skipped, PINGs answered)."""
        deadline = time.monotonic() + ms / 1000
        while time.monotonic() < deadline:
            msg = self.recv(int((deadline - time.monotonic()) * 1000) + 1)
            if is_message(msg, kind):
                return msg
            if is_message(msg, "PING"):
                self.ack(msg)
        return None

    def ack(self, msg):
        self.send(pack([1, "ACK", {"seq": msg[2].get("seq"), "updates": []}]))

    def send(self, data):
        self.router.send_multipart([self.routing, data])

    def close(self):
        self.dealer.close()
        self.router.close(linger=0)


def test_member(ctx, node, work, alive_before):
    key = trusted_key(node, work, "trusted-member")
    member = Member(ctx, node, key, "raw-member")
    reply = member.dealer.recv(REPLY_MS)
    expect_true("the node answers our HELLO with MEMBERS", is_message(reply, "MEMBERS"),
                "got %r" % (reply,))
    if is_message(reply, "MEMBERS"):
        updates = reply[2].get("updates")
        expect("its updates are well-formed", [], updates_problems(updates))
        ids = [u.get("node") for u in updates or [] if isinstance(u, dict)]
        expect_true("and name the node itself", node.pk in ids, "got %r" % (ids,))

    hello = member.recv_type("HELLO", REPLY_MS)
    expect_true("the node connects to the endpoint we announced and says HELLO", hello is not None,
                "nothing on %s within %d ms" % (member.endpoint, REPLY_MS))
    if hello:
        expect("its HELLO is as the document says", [], hello_problems(hello[2], node.pk))
    probe = member.recv_type("PING", REPLY_MS)
    expect_true("the node probes us with PING", probe is not None, "no PING within %d ms"
                % REPLY_MS)
    if probe:
        body = probe[2]
        expect("its PING is as the document says", [],
               ([] if is_uint(body.get("seq")) else ["seq %r" % (body.get("seq"),)])
               + ([] if is_uint(body.get("incarnation")) else ["incarnation"])
               + updates_problems(body.get("updates")))
        member.ack(probe)
    expect("we are an alive member", "alive", node.members().get(key.id))

    # Malformed answers on the node's own connection: counted, not taken.
    frames = [("truncated", pack([1, "ACK", {"seq": 1, "updates": []}])[:-2], "malformed"),
              ("[1, PONG, {}]", pack([1, "PONG", {}]), "type"),
              ("an ACK with 65 updates",
               pack([1, "ACK", {"seq": 1, "updates": [update(os.urandom(32))] * 65}]), "limit")]
    before = node.metrics()
    for _, data, _ in frames:
        member.send(data)
    probe = member.recv_type("PING", REPLY_MS)  # the node carries on probing us
    if probe:
        member.ack(probe)
    check_drops("malformed answers to the node's connection", frames, before, node.metrics())
    expect("we are still an alive member", "alive", node.members().get(key.id))
    member.close()
    still_serving(node, "after a member's malformed answers", alive_before)


def test_errors(ctx, node, work, alive_before):
    """ERROR is never answered, from a trusted key or from a member on the
    node's own connection to it."""
    with bug("error-overflow"):
        t = trusted_key(node, work, "trusted-error")
        peer = Peer(ctx, node, t.curve_public, t.curve_secret)
        peer.send(pack([1, "ERROR", {"code": "busy", "text": "raw_peer.py says so"}]))
        expect_quiet("trusted key: a well-formed ERROR", peer)
        expect_ack("trusted key, after its ERROR", peer, 1)
        peer.close()
        still_serving(node, "after an ERROR from a trusted key", alive_before)
        if node.ctl("status")[0] != 0:
            fail("the node is down: an ERROR from a member is not tried")
            return

        key = trusted_key(node, work, "member-error")
        member = Member(ctx, node, key, "raw-member-error")
        reply = member.dealer.recv(REPLY_MS)
        expect_true("the node answers a new member's HELLO with MEMBERS",
                    is_message(reply, "MEMBERS"), "got %r" % (reply,))
        hello = member.recv_type("HELLO", REPLY_MS)
        expect_true("the node connects to a new member", hello is not None, "no HELLO")
        if hello:
            member.send(pack([1, "ERROR", {"code": "busy", "text": "raw_peer.py says so"}]))
            expect_quiet("a member: ERROR on the node's connection to it", member.dealer)
        member.close()
        still_serving(node, "after an ERROR from a member", alive_before)


def main():
    if len(sys.argv) != 7 or sys.argv[6] not in ("hostile", "errors"):
        print("usage: raw_peer.py DATA_DIR PEER_ENDPOINT FEDCTL HANDSHAKE_MS WORK_DIR "
              "hostile|errors", file=sys.stderr)
        return 2
    data_dir, endpoint, fedctl, handshake_ms, work, group = sys.argv[1:]
    node = Node(data_dir, endpoint, fedctl)
    alive_before = well_behaved(node)
    if not alive_before:
        fail("fedctl members answers before the test")
        return 1
    ok("the node answers; %d members alive (itself included)" % len(alive_before))

    ctx = zmq.Context()
    try:
        if group == "hostile":
            test_tcp(node, int(handshake_ms), alive_before)
            test_pending(ctx, node, work, alive_before)
            test_trusted(ctx, node, work, alive_before)
            test_malformed(ctx, node, work, alive_before)
            test_lies(ctx, node, work, alive_before)
            test_member(ctx, node, work, alive_before)
            test_pending_rate(ctx, node, alive_before)
            test_endpoints(ctx, node, work, alive_before)
        else:
            test_errors(ctx, node, work, alive_before)
    finally:
        ctx.destroy(linger=0)
    print("# raw_peer %s: %d checks, %d failed, %d known bugs" % (group, checks, failures, known))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
