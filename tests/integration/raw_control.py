#!/usr/bin/python3
"""tests/integration/raw_control.py: a second admin client for fednode's
control endpoint, written from doc/protocol.md section 3 alone (no code
of the project), then fed malformed requests.

    raw_control.py DATA_DIR ENDPOINT [FEDNODE]

Reads DATA_DIR/admin.key and DATA_DIR/node.pub, derives both CURVE keys
as the protocol document says, sends [1, "status", {}] and checks the
reply; then sends each malformed request and checks that it gets
[1, false, {code, message}] with the documented code and that the node
keeps serving. Prints "ok - ..." / "FAIL - ..." lines; exits 1 if any
check failed. Run by test_control.sh with Debian's /usr/bin/python3
(python3-zmq, python3-msgpack).
"""
import hashlib
import json
import os
import subprocess
import sys
import time

import msgpack
import zmq
from zmq.utils import z85

TIMEOUT_MS = 5000
P = 2**255 - 19
failures = 0
checks = 0


def ok(name):
    global checks
    checks += 1
    print("ok - " + name)


def fail(name):
    global checks, failures
    checks += 1
    failures += 1
    print("FAIL - " + name)


def expect(name, expected, got):
    if expected == got:
        ok(name)
    else:
        fail("%s: expected %r, got %r" % (name, expected, got))


# --- keys (doc/protocol.md 3.1) -------------------------------------------------

def key_file_field(path, field):
    """The Z85 value of a 'field: VALUE' line of a fednode key file, decoded."""
    with open(path) as f:
        for line in f:
            if line.startswith(field + ":"):
                return z85.decode(line.split(":", 1)[1].strip())
    raise ValueError("%s has no '%s:' line" % (path, field))


def curve_secret_from_seed(seed, clamp):
    """First 32 bytes of SHA-512(seed): ed25519's secret scalar, optionally
    clamped as X25519 does (s[0] &= 248, s[31] &= 127, s[31] |= 64)."""
    s = bytearray(hashlib.sha512(seed).digest()[:32])
    if clamp:
        s[0] &= 248
        s[31] &= 127
        s[31] |= 64
    return bytes(s)


def curve_public_from_ed25519(pk):
    """The Montgomery u of an Edwards public key: u = (1 + y) / (1 - y) mod p
    (what libsodium's crypto_sign_ed25519_pk_to_curve25519 computes)."""
    y = int.from_bytes(pk, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow(1 - y, P - 2, P) % P
    return u.to_bytes(32, "little")


# --- one request at a time over a CURVE REQ socket ---------------------------------

class Client:
    def __init__(self, ctx, endpoint, public, secret, server):
        self.ctx, self.endpoint = ctx, endpoint
        self.keys = (public, secret, server)
        self.sock = None
        self.open()

    def open(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        s = self.ctx.socket(zmq.REQ)
        public, secret, server = self.keys
        s.curve_publickey = z85.encode(public)
        s.curve_secretkey = z85.encode(secret)
        s.curve_serverkey = z85.encode(server)
        s.rcvtimeo = TIMEOUT_MS
        s.sndtimeo = TIMEOUT_MS
        s.linger = 0
        s.connect(self.endpoint)
        self.sock = s

    def raw(self, frames):
        """Sends frames (bytes or a list of bytes); returns the decoded
        reply, or None on timeout (the socket is then reopened)."""
        try:
            if isinstance(frames, list):
                self.sock.send_multipart(frames)
            else:
                self.sock.send(frames)
            reply = self.sock.recv()
        except zmq.Again:
            self.open()
            return None
        return msgpack.unpackb(reply, raw=False)

    def call(self, command, args):
        return self.raw(msgpack.packb([1, command, args], use_bin_type=True))

    def close(self):
        self.sock.close(linger=0)


def replay_args(rid=None, exp=None):
    """rid and exp (doc/protocol.md 3.3): 16 random bytes, ms expiry."""
    return {"rid": rid if rid is not None else os.urandom(16),
            "exp": exp if exp is not None else int(time.time() * 1000) + 60000}


def check_error(client, name, frames, code):
    """Sends a bad request; expects [1, false, {code, message}]."""
    reply = client.raw(frames)
    if reply is None:
        fail("%s: expected error '%s', got no reply in %d ms" % (name, code, TIMEOUT_MS))
        return
    good = (isinstance(reply, list) and len(reply) == 3 and reply[0] == 1
            and reply[1] is False and isinstance(reply[2], dict)
            and isinstance(reply[2].get("message"), str) and reply[2]["message"])
    if not good:
        fail("%s: expected [1, false, {code: '%s', message}], got %r" % (name, code, reply))
        return
    expect("%s -> %s (%s)" % (name, code, reply[2]["message"][:60]), code,
           reply[2].get("code"))


def check_status(client, name, node_id, curve_z85):
    reply = client.call("status", {})
    if not (isinstance(reply, list) and len(reply) == 3 and reply[:2] == [1, True]):
        fail("%s: expected [1, true, {...}], got %r" % (name, reply))
        return
    result = reply[2]
    expect(name + ": status id is the node id", node_id, result.get("id"))
    expect(name + ": status curve is the key we pinned", curve_z85, result.get("curve"))
    expect(name + ": status role", "admin", result.get("role"))


def main():
    if len(sys.argv) < 3:
        print("usage: raw_control.py DATA_DIR ENDPOINT [FEDNODE]", file=sys.stderr)
        return 2
    data_dir, endpoint = sys.argv[1], sys.argv[2]
    fednode = sys.argv[3] if len(sys.argv) > 3 else None

    seed = key_file_field(os.path.join(data_dir, "admin.key"), "secret")
    admin_pk = key_file_field(os.path.join(data_dir, "admin.key"), "public")
    expect("admin.key secret is a 32-byte seed", 32, len(seed))
    secret = curve_secret_from_seed(seed, clamp=True)
    public = z85.decode(zmq.curve_public(z85.encode(secret)))
    unclamped = curve_secret_from_seed(seed, clamp=False)
    # libzmq's X25519 (libsodium crypto_scalarmult) clamps internally:
    # clamping ourselves changes nothing.
    expect("unclamped secret gives the same CURVE public key (libzmq clamps)",
           z85.encode(public), zmq.curve_public(z85.encode(unclamped)))
    expect("admin CURVE public = birational map of its ed25519 key",
           z85.encode(public), z85.encode(curve_public_from_ed25519(admin_pk)))

    node_pk = key_file_field(os.path.join(data_dir, "node.pub"), "public")
    server = curve_public_from_ed25519(node_pk)
    node_id = z85.encode(node_pk).decode()
    if fednode:
        out = subprocess.run([fednode, "id", "-d", data_dir, "--json"], capture_output=True,
                             text=True, timeout=20)
        got = json.loads(out.stdout).get("curve") if out.returncode == 0 else out.stderr
        expect("server key derived from node.pub = 'fednode id --json' curve",
               z85.encode(server).decode(), got)

    ctx = zmq.Context()
    client = Client(ctx, endpoint, public, secret, server)
    try:
        check_status(client, "first", node_id, z85.encode(server).decode())

        check_error(client, "not msgpack at all", b"\xc1\xc1 not msgpack", "bad_request")
        check_error(client, "a msgpack int", msgpack.packb(42), "bad_request")
        check_error(client, "an empty frame", b"", "bad_request")
        check_error(client, "two frames", [msgpack.packb([1, "status", {}]), b"x"],
                    "bad_request")
        check_error(client, "[2, status, {}]", msgpack.packb([2, "status", {}]), "version")
        check_error(client, "[1, 42, {}]", msgpack.packb([1, 42, {}]), "bad_request")
        check_error(client, "[1, status] (no args)", msgpack.packb([1, "status"]),
                    "bad_request")
        check_error(client, "[1, status, []] (args not a map)",
                    msgpack.packb([1, "status", []]), "bad_request")
        check_error(client, "[1, nosuch, {}]", msgpack.packb([1, "nosuch", {}]),
                    "unknown_command")
        check_error(client, "[1, status, {bogus: 1}] (unknown argument)",
                    msgpack.packb([1, "status", {"bogus": 1}]), "bad_request")
        check_error(client, "trailing bytes after the request",
                    msgpack.packb([1, "status", {}]) + b"\x00", "bad_request")

        publish = {"type": "user.x", "body": {}}
        check_error(client, "events.publish without rid/exp",
                    msgpack.packb([1, "events.publish", publish]), "bad_request")
        check_error(client, "events.publish with a 15-byte rid",
                    msgpack.packb([1, "events.publish", dict(publish, **replay_args(
                        rid=os.urandom(15)))], use_bin_type=True), "bad_request")
        past = int(time.time() * 1000) - 1000
        check_error(client, "events.publish with exp in the past",
                    msgpack.packb([1, "events.publish", dict(publish, **replay_args(exp=past))],
                                  use_bin_type=True), "expired")
        far = int(time.time() * 1000) + 3600 * 1000
        check_error(client, "events.publish with exp an hour ahead",
                    msgpack.packb([1, "events.publish", dict(publish, **replay_args(exp=far))],
                                  use_bin_type=True), "expired")
        rid = os.urandom(16)
        reply = client.call("events.publish", dict(publish, **replay_args(rid=rid)))
        good = (isinstance(reply, list) and reply[:2] == [1, True]
                and isinstance(reply[2].get("id"), bytes) and len(reply[2]["id"]) == 32
                and isinstance(reply[2].get("seq"), int))
        if good:
            ok("a valid events.publish -> ok, seq %d" % reply[2]["seq"])
        else:
            fail("a valid events.publish: expected [1, true, {id: bin32, seq}], got %r"
                 % (reply,))
        check_error(client, "the same rid again",
                    msgpack.packb([1, "events.publish", dict(publish, **replay_args(rid=rid))],
                                  use_bin_type=True), "replayed")

        check_error(client, "a 5-byte array32 declaring 4 billion elements",
                    b"\xdd\xee\x6b\x28\x00", "bad_request")
        check_error(client, "100 nested arrays", b"\x91" * 99 + b"\xc0", "bad_request")
        check_error(client, "100 nested arrays in args",
                    msgpack.packb([1, "status", {}])[:-1]
                    + b"\x81\xa1x" + b"\x91" * 99 + b"\xc0", "bad_request")
        check_error(client, "a str8 declaring 200 bytes, 3 present",
                    b"\x93\x01\xd9\xc8abc", "bad_request")

        check_status(client, "after the malformed requests", node_id,
                     z85.encode(server).decode())
    finally:
        client.close()
        ctx.term()
    print("# raw_control: %d checks, %d failed" % (checks, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
