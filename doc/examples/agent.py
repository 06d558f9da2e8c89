#!/usr/bin/python3
"""doc/examples/agent.py: an external agent in Python, from doc/protocol.md
section 5 alone (pyzmq and msgpack; on Debian the python3-zmq and
python3-msgpack packages).

    eval "$(fednode agent-env -d DATA_DIR)"
    python3 doc/examples/agent.py [--name LABEL] [--slots N]
                                  [--agents py.wordcount,py.sleep]

Connects to the node that the environment names (FEDNODE_AGENT_ENDPOINT,
FEDNODE_SERVER_KEY, FEDNODE_AGENT_PUBLIC, FEDNODE_AGENT_SECRET) and offers:

    py.wordcount  {text: str} -> {words: int, counts: {word: n}, pid},
                  with PROGRESS (done and total in chunks of 1,000 words)
    py.sleep      {ms: int} -> {slept_ms, pid}; sleeps in 10 ms steps
                  and stops on CANCEL

Every output carries the process id, so a test can tell instances apart.
Up to --slots tasks (default 2) run at once, each on a thread. The agent
heartbeats, sends READY again when the node restarts or goes silent, and
says BYE on SIGTERM or SIGINT. Tasks written this way should be idempotent:
the node may run one again elsewhere (section 5.4).
"""
import argparse
import os
import queue
import signal
import socket
import sys
import threading
import time

import msgpack
import zmq
from zmq.utils import z85

VERSION = "1.0"
WELCOME_TIMEOUT = 5.0  # seconds without WELCOME before connecting anew
WORKERS = "inproc://agent-workers"


def log(text):
    print("agent.py[%d]: %s" % (os.getpid(), text), file=sys.stderr, flush=True)


def pack(kind, body):
    return msgpack.packb([1, kind, body], use_bin_type=True)


# --- The agents ---------------------------------------------------------------

class BadParams(Exception):
    """Params the agent cannot use: answered FAIL bad_params."""


def param(params, name, kind, what):
    value = params.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        got = type(value).__name__ if name in params else "nothing"
        raise BadParams('param "%s" must be %s, got %s' % (name, what, got))
    return value


def wordcount(params, progress, cancelled):
    words = param(params, "text", str, "a str").split()
    counts = {}
    chunks = (len(words) + 999) // 1000
    for chunk in range(chunks):
        if cancelled.is_set():
            return None
        for word in words[chunk * 1000:(chunk + 1) * 1000]:
            counts[word] = counts.get(word, 0) + 1
        progress(chunk + 1, chunks)
    return {"words": len(words), "counts": counts}


def sleep(params, progress, cancelled):
    ms = param(params, "ms", int, "an integer")
    if not 0 <= ms <= 86400000:
        raise BadParams('param "ms" must be 0 to 86400000, got %d' % ms)
    start = time.monotonic()
    end = start + ms / 1000
    while time.monotonic() < end:
        if cancelled.wait(min(0.01, max(0, end - time.monotonic()))):
            return None
        progress(min(ms, int((time.monotonic() - start) * 1000)), ms)
    return {"slept_ms": int((time.monotonic() - start) * 1000)}


AGENTS = {"py.wordcount": wordcount, "py.sleep": sleep}


# --- Running tasks on threads ----------------------------------------------------

class Task:
    def __init__(self, body, token):
        self.id = body["task"]
        self.agent = body["agent"]
        self.params = body["params"]
        self.token = token  # names the task to the main thread
        self.cancelled = threading.Event()
        self.progress_at = 0.0


def worker(context, tasks):
    """Runs tasks from the queue; sends [token, final, message] to the main
    thread, which forwards the message if the node still wants the task."""
    out = context.socket(zmq.PUSH)
    out.connect(WORKERS)

    def send(task, kind, body, final):
        body["task"] = task.id
        out.send_multipart([task.token, b"1" if final else b"0", pack(kind, body)])

    while (task := tasks.get()) is not None:
        def progress(done, total, task=task):
            now = time.monotonic()  # at most ten a second, and the last one
            if now - task.progress_at >= 0.1 or done == total:
                task.progress_at = now
                send(task, "PROGRESS", {"done": done, "total": total}, False)
        try:
            output = AGENTS[task.agent](task.params, progress, task.cancelled)
            if output is not None:
                output["pid"] = os.getpid()
                send(task, "RESULT", {"output": output}, True)
        except BadParams as e:
            send(task, "FAIL", {"code": "bad_params", "message": str(e)}, True)
        except Exception as e:  # a bug in an agent fails its task, not the process
            message = "%s: %s" % (type(e).__name__, e)
            send(task, "FAIL", {"code": "agent_error", "message": message[:1023]}, True)
    out.close()


# --- The connection to the node ------------------------------------------------------

class Agent:
    def __init__(self, args, keys):
        self.args = args
        self.keys = keys  # (server, public, secret), 32 bytes each
        self.context = zmq.Context.instance()
        self.inbox = self.context.socket(zmq.PULL)
        self.inbox.bind(WORKERS)
        self.queue = queue.Queue()
        self.threads = [threading.Thread(target=worker, args=(self.context, self.queue),
                                         daemon=True) for _ in range(args.slots)]
        for thread in self.threads:
            thread.start()
        offer = [{"name": name, "version": VERSION} for name in args.agents]
        self.ready = pack("READY", {"agents": offer, "slots": args.slots, "name": args.name})
        self.sock = None
        self.running = {}  # the node's task id -> Task
        self.tokens = 0
        self.stopping = False
        self.logged_at = {}  # what -> when it was last logged, for rate limits
        self.handlers = {"WELCOME": self.on_welcome, "TASK": self.on_task,
                         "CANCEL": self.on_cancel, "HEARTBEAT": lambda body: None,
                         "BYE": self.on_bye, "ERROR": self.on_error}

    def log_once_a_minute(self, what, text):
        if time.monotonic() - self.logged_at.get(what, -60) >= 60:
            self.logged_at[what] = time.monotonic()
            log(text)

    def send(self, kind, body):
        self.send_raw(pack(kind, body))

    def send_raw(self, message):
        try:
            self.sock.send(message, zmq.NOBLOCK)
        except zmq.Again:
            pass  # the node is away; it gets READY again when it is back

    def send_ready(self):
        self.send_raw(self.ready)
        self.welcomed = False
        self.ready_at = time.monotonic()

    def drop(self, task_id):
        """The node no longer wants the task: stop it, send nothing more."""
        task = self.running.pop(task_id, None)
        if task:
            task.cancelled.set()

    def connect(self, why=None):
        if why:
            self.log_once_a_minute("reconnect", "%s; connecting again" % why)
        for task_id in list(self.running):
            self.drop(task_id)  # the node has failed them over already
        if self.sock:
            self.sock.close(linger=0)
        self.sock = self.context.socket(zmq.DEALER)
        self.sock.curve_serverkey, self.sock.curve_publickey, self.sock.curve_secretkey = self.keys
        self.sock.linger = 0
        self.sock.connect(self.args.endpoint)
        self.send_ready()

    # Messages from the node.

    def on_welcome(self, body):
        if not self.welcomed:
            log("welcomed by node %s" % body["node"].hex()[:16])
        self.welcomed = True
        self.beat = max(body["heartbeat_ms"], 10) / 1000
        self.liveness = max(body["liveness"], 1)
        self.next_beat = time.monotonic() + self.beat

    def on_task(self, body):
        self.drop(body["task"])  # sent again: the latest stands
        self.tokens += 1
        task = Task(body, b"%d" % self.tokens)
        if task.agent not in self.args.agents or body["version"] != VERSION:
            message = "no agent %s version %s here" % (task.agent, body["version"])
            self.send("FAIL", {"task": task.id, "code": "no_agent", "message": message})
        elif not isinstance(task.params, dict):
            self.send("FAIL", {"task": task.id, "code": "bad_params",
                               "message": "params must be a map"})
        elif body["timeout_ms"] == 0:
            self.send("FAIL", {"task": task.id, "code": "timeout", "message": "no time left"})
        else:
            self.running[task.id] = task
            self.queue.put(task)

    def on_cancel(self, body):
        self.drop(body["task"])

    def on_bye(self, body):
        self.connect("the node is stopping (BYE)")

    def on_error(self, body):
        if body["code"] == "not_ready":
            if self.welcomed:  # the node forgot us (it restarted): offer again
                log("the node does not know this process; sending READY again")
                for task_id in list(self.running):
                    self.drop(task_id)
                self.send_ready()
        elif body["code"] == "unknown_task":
            self.drop(body.get("task"))
        else:
            self.log_once_a_minute("error", "the node refused a message: %s: %s"
                                   % (body["code"], body.get("message", "")))

    def from_node(self):
        while self.sock.poll(0):
            frames = self.sock.recv_multipart()
            self.heard = time.monotonic()
            try:
                version, kind, body = msgpack.unpackb(frames[0], raw=False)
                if len(frames) != 1 or version != 1 or not isinstance(body, dict):
                    raise ValueError("not [1, type, body] in one frame")
                self.handlers[kind](body)
            except Exception as e:  # malformed: ignored, the connection stays
                self.log_once_a_minute("bad", "ignored a message from the node: %r" % e)

    def from_workers(self):
        while self.inbox.poll(0):
            token, final, message = self.inbox.recv_multipart()
            task = next((t for t in self.running.values() if t.token == token), None)
            if task:  # else the node has dropped it
                self.send_raw(message)
                if final == b"1":
                    del self.running[task.id]

    def timers(self):
        now = time.monotonic()
        if not self.welcomed and now - self.ready_at > WELCOME_TIMEOUT:
            self.connect("no WELCOME from the node")
        elif self.welcomed and now - self.heard > self.beat * self.liveness:
            self.connect("heard nothing from the node for %.1f s" % (now - self.heard))
        elif self.welcomed and now >= self.next_beat:
            self.send("HEARTBEAT", {})
            self.next_beat = now + self.beat

    def run(self):
        self.connect()
        self.heard = time.monotonic()
        while not self.stopping:
            poller = zmq.Poller()
            poller.register(self.sock, zmq.POLLIN)
            poller.register(self.inbox, zmq.POLLIN)
            ready = dict(poller.poll(100))  # short, so a signal is noticed soon
            if self.sock in ready:
                self.from_node()
            if self.inbox in ready:
                self.from_workers()
            self.timers()
        self.send("BYE", {})  # the node fails our tasks over at once
        for task in self.running.values():
            task.cancelled.set()
        for thread in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join(2)
        self.context.destroy(linger=500)  # time for the BYE to leave


def env_key(name):
    text = os.environ.get(name, "")
    try:
        key = z85.decode(text) if len(text) == 40 else bytes.fromhex(text)
        if len(key) == 32:
            return key
    except ValueError:
        pass
    sys.exit("agent.py: %s is %s; run eval \"$(fednode agent-env -d DATA_DIR)\" first"
             % (name, "not a CURVE key (40 Z85 chars)" if text else "not set"))


def main():
    parser = argparse.ArgumentParser(description="An external fednode agent in Python.")
    parser.add_argument("--name", default="agent.py@" + socket.gethostname(),
                        help="a label for the node's logs (at most 64 bytes)")
    parser.add_argument("--slots", type=int, default=2, help="tasks run at once (1 to 256)")
    parser.add_argument("--agents", default=",".join(AGENTS),
                        help="the agents to offer (default: %(default)s)")
    args = parser.parse_args()
    args.name = args.name.encode()[:64].decode(errors="ignore")
    args.agents = [name for name in args.agents.split(",") if name]
    unknown = [name for name in args.agents if name not in AGENTS]
    if unknown or not args.agents:
        parser.error("--agents: choose from %s" % ", ".join(AGENTS))
    if not 1 <= args.slots <= 256:
        parser.error("--slots must be 1 to 256")
    args.endpoint = os.environ.get("FEDNODE_AGENT_ENDPOINT")
    if not args.endpoint:
        env_key("FEDNODE_AGENT_ENDPOINT")  # says it is not set, and how to set it
    secret = env_key("FEDNODE_AGENT_SECRET")
    public = z85.decode(zmq.curve_public(z85.encode(secret)))
    if os.environ.get("FEDNODE_AGENT_PUBLIC") and env_key("FEDNODE_AGENT_PUBLIC") != public:
        sys.exit("agent.py: FEDNODE_AGENT_PUBLIC is not the public key of FEDNODE_AGENT_SECRET")
    agent = Agent(args, (env_key("FEDNODE_SERVER_KEY"), public, secret))

    def stop(signum, frame):
        agent.stopping = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("offering %s with %d slots to %s" % (", ".join(args.agents), args.slots, args.endpoint))
    agent.run()
    log("stopped")


if __name__ == "__main__":
    main()
