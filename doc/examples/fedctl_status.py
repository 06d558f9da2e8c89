#!/usr/bin/python3
"""doc/examples/fedctl_status.py: `fedctl status` in Python, from
doc/protocol.md section 3 alone (pyzmq and msgpack; on Debian the
python3-zmq and python3-msgpack packages).

    fedctl_status.py DATA_DIR [ENDPOINT]

Connects as the node's admin (DATA_DIR/admin.key), pins the node's key
(DATA_DIR/node.pub), sends [1, "status", {}] and prints the result.
tests/integration/raw_control.py is the same client, tested.
"""
import hashlib
import os
import sys

import msgpack
import zmq
from zmq.utils import z85


def key_field(path, field):
    """The 32 bytes of the Z85 'field:' line of a fednode key file."""
    for line in open(path):
        if line.startswith(field + ":"):
            return z85.decode(line.split(":", 1)[1].strip())
    raise SystemExit("%s: no '%s:' line" % (path, field))


def main():
    data_dir = sys.argv[1]
    endpoint = (sys.argv[2] if len(sys.argv) > 2
                else open(os.path.join(data_dir, "control.endpoint")).read().strip())
    # Our CURVE secret: the ed25519 secret scalar, the first 32 bytes of
    # SHA-512(seed). X25519 clamps it (libzmq does so itself).
    seed = key_field(os.path.join(data_dir, "admin.key"), "secret")
    secret = z85.encode(hashlib.sha512(seed).digest()[:32])
    public = zmq.curve_public(secret)
    # The node's CURVE key: its ed25519 key mapped to Montgomery form,
    # u = (1 + y) / (1 - y) mod 2^255 - 19 (`fednode id` prints it too).
    p = 2**255 - 19
    y = int.from_bytes(key_field(os.path.join(data_dir, "node.pub"), "public"), "little")
    y &= (1 << 255) - 1
    server = z85.encode(((1 + y) * pow(1 - y, p - 2, p) % p).to_bytes(32, "little"))

    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.curve_secretkey, sock.curve_publickey, sock.curve_serverkey = secret, public, server
    sock.rcvtimeo = 5000            # a refused key never gets a reply: do not wait forever
    sock.linger = 0
    sock.connect(endpoint)
    sock.send(msgpack.packb([1, "status", {}]))
    try:
        version, ok, result = msgpack.unpackb(sock.recv(), raw=False)
    except zmq.Again:
        raise SystemExit("no reply from %s in 5 s (node down, or our key not trusted)"
                         % endpoint)
    if not ok:                      # [1, false, {code, message}]
        raise SystemExit("%s: %s" % (result["code"], result["message"]))
    for key, value in result.items():
        print("%-11s %s" % (key + ":", value))


if __name__ == "__main__":
    main()
