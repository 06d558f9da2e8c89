#!/usr/bin/python3
"""tests/integration/relay.py: a trusted peer that relays another origin's
events to a node, as they are or tampered with (doc/protocol.md 4.3.7).

    relay.py KEY_FILE NODE_KEY_FILE ENDPOINT EXPORT_FILE MODE

KEY_FILE is the relay's own fednode key file (a key the node trusts as a
peer); NODE_KEY_FILE the node's (only its public key is read, to pin the
node's CURVE key); ENDPOINT the node's peer endpoint; EXPORT_FILE a
`fednode export` of the events to relay. MODE:
  original   send the events as they are, in one EVENTS message
  body       change one byte inside each event's body (the msgpack stays
             well formed; the signature no longer matches)
  signature  flip one bit of each event's signature
Exits 0 once the message is sent (the test checks what the node stored),
77 without python3-zmq or python3-msgpack.
"""
import os
import sys
import time

try:
    import msgpack
    import zmq
    from zmq.utils import z85
except ImportError:
    print("skip - relay.py needs python3-zmq and python3-msgpack")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from raw_control import (curve_public_from_ed25519, curve_secret_from_seed,  # noqa: E402
                         key_file_field)


def events_of(path):
    """The exact bytes of each event in an export file (split by decoding)."""
    data = open(path, "rb").read()
    unpacker = msgpack.Unpacker(raw=True)
    unpacker.feed(data)
    out, start = [], 0
    for _ in unpacker:
        end = unpacker.tell()
        out.append(data[start:end])
        start = end
    return out


def tamper(event, mode):
    b = bytearray(event)
    if mode == "signature":
        b[-1] ^= 0x01
    elif mode == "body":
        i = b.find(b"relayed-")
        if i < 0:
            raise ValueError("no 'relayed-' text in the event body to change")
        b[i] = ord("R")
    return bytes(b)


def main():
    key_file, node_key_file, endpoint, export, mode = sys.argv[1:6]
    secret = curve_secret_from_seed(key_file_field(key_file, "secret"), clamp=True)
    server = curve_public_from_ed25519(key_file_field(node_key_file, "public"))
    events = [tamper(e, mode) if mode != "original" else e for e in events_of(export)]
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.curve_secretkey = z85.encode(secret)
    s.curve_publickey = zmq.curve_public(z85.encode(secret))
    s.curve_serverkey = z85.encode(server)
    s.linger = 2000
    s.connect(endpoint)
    s.send(msgpack.packb([1, "EVENTS", {"events": events}], use_bin_type=True))
    time.sleep(0.3)  # let the frame leave before the socket closes
    s.close()
    ctx.term()
    print("sent %d %s events" % (len(events), mode))


if __name__ == "__main__":
    main()
