"""The whole cluster of docs/cluster.md on one machine, for scripts/cluster-demo and
test_cluster_failover.py: the SIP edge (two Kamailios sharing the service address through keepalived,
harness/cluster_edge.py; or one, when the YAML has no `edge.hosts`), two Asterisk nodes and two daemons,
each with an address of its own, and SIPp citizens calling the main number through the edge.

Network (all made here, all deleted by `stop()`): a bridge in namespace `ivrc-br`; namespaces for
the edges (`ivrc-edge-1`, `ivrc-edge-2` with the hosts' own addresses and their interface named as
the YAML says; a single edge: `ivrc-edge`), the Asterisk nodes (`ivrc-ast-a`, `ivrc-ast-b`), the
callers (`ivrc-call`, the operator's address of `edge.trunk_from`) and an agent's browser (`ivrc-web`:
headless Chromium, which reaches the desktop on a daemon's address and the edge's WebSocket), each
joined to the bridge by a veth pair; and one more veth pair into this machine's
own namespace, where the daemons run (they reach PostgreSQL and Mosquitto on 127.0.0.1 there) with
their cluster addresses added to it; each daemon serves the agents' desktop on its address (WEB_PORT).
The addresses are kamailio/cluster.example.yaml's (10.98.7.0/24, or IVR_CLUSTER_SUBNET's); no route
leads anywhere else, so no packet leaves the machine.

The nodes are the sandbox's Asterisk (scripts/asterisk-sandbox, instances 7 and 8 in their
namespaces) with asterisk-config/ as `ivr asterisk generate --node NAME` makes it for the node, plus
what only a multi-host layout needs: AMI listening on the node's address for its daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ivr.cluster.agents import session_topic
from ivr.cluster.reader import publish
from ivr.config.model import Cluster
from ivr.events.mqtt import MessageBuilder, MqttConfig, OutMessage
from ivr.validate import load_config

from .cluster_edge import Edge

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "kamailio" / "cluster.example.yaml"
SANDBOX = REPO / "scripts" / "asterisk-sandbox"
# A second run beside another (CI's and a developer's) needs its own names, subnet and sandbox
# instances: IVR_CLUSTER_PREFIX (namespace and interface names; at most 5 characters),
# IVR_CLUSTER_SUBNET (the first three octets; the example's 10.98.7 is replaced by it) and
# IVR_CLUSTER_INSTANCES (the two nodes' sandbox instances).
PREFIX = os.environ.get("IVR_CLUSTER_PREFIX", "ivrc")
EXAMPLE_SUBNET = "10.98.7"
SUBNET = os.environ.get("IVR_CLUSTER_SUBNET", EXAMPLE_SUBNET)
HOST_ADDRESS = f"{SUBNET}.1"  # this machine's own end of the bridge
CALLER_ADDRESS = f"{SUBNET}.20"
BROWSER_ADDRESS = f"{SUBNET}.30"  # an agent's computer: the browser softphone (not an operator's address)
WEB_PORT = 8088  # each daemon's desktop, on its own cluster address
NETMASK = 24
SITE = "clusterdemo" if PREFIX == "ivrc" else f"clusterdemo{PREFIX}"  # MQTT topics of this run only
# Sandbox instances of the two nodes (never 0..6: other runs use them).
INSTANCES = dict(zip(("ast-a", "ast-b"),
                     (int(n) for n in os.environ.get("IVR_CLUSTER_INSTANCES", "7,8").split(",")), strict=True))
AMI_SECRET = "ivr-dev-secret"
# The daemons' shared keyed-hash key (a caller's hash must be the same whichever daemon took the call).
HASH_KEY = "cluster-demo-key-0123456789abcdef"
# Likewise the callbacks' key: a number one daemon sealed, another opens when the agent answers.
CALLBACK_KEY = "cluster-demo-callback-key-0123456789abcdef"
DEMO_DB = "postgresql://postgres@127.0.0.1:5432/ivr_cluster_demo"


class ClusterError(RuntimeError):
    pass


def _run(*command: str, timeout: float = 60, check: bool = True,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL, env=env)
    if check and done.returncode != 0:
        raise ClusterError(f"{' '.join(command)} (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def clear_agent_sessions(config: Path) -> None:
    """The broker keeps the agents' sessions (retained, ivr.cluster.agents) of an earlier run on this
    site; the daemons would log those agents in again. An empty retained message deletes each."""
    builder = MessageBuilder(SITE)
    mqtt = MqttConfig("127.0.0.1", 1883, SITE)

    async def clear() -> None:
        for agent in load_config([config]).agents:
            await publish(mqtt, OutMessage(session_topic(builder, agent), b"", qos=1, retain=True))

    asyncio.run(clear())


def cluster_config(work: Path) -> tuple[Path, Cluster]:
    """A config folder: the repository's menus and agents, routing_rules.yaml with the example's
    `cluster:` and a site of its own (its MQTT topics are not the production site's)."""
    config = work / "config"
    if config.exists():
        shutil.rmtree(config)
    config.mkdir(parents=True)
    for name in ("dialplans", "agents"):
        shutil.copytree(REPO / name, config / name)
    rules = (REPO / "routing_rules.yaml").read_text(encoding="utf-8")
    site = SITE
    rules = "\n".join(f"site: {site}" if line.startswith("site:") else line for line in rules.splitlines())
    example = EXAMPLE.read_text(encoding="utf-8").replace(f"{EXAMPLE_SUBNET}.", f"{SUBNET}.")
    (config / "routing_rules.yaml").write_text(rules + "\n" + example, encoding="utf-8")
    cluster = load_config([config]).rules.cluster
    assert cluster is not None
    return config, cluster


@dataclass
class Network:
    """The namespaces and veth pairs of the module's docstring."""

    cluster: Cluster
    made: list[str] = field(default_factory=list)

    def edge_spaces(self) -> dict[str, str]:
        """Edge namespace → its interface's name inside (the pair's: the YAML's, where keepalived puts
        the service address)."""
        if not self.cluster.edge.hosts:
            return {f"{PREFIX}-edge": ""}
        return {f"{PREFIX}-{host.name}": host.interface for host in self.cluster.edge.hosts}

    def namespaces(self) -> dict[str, str]:
        """Namespace → address."""
        edge = self.cluster.edge
        spaces = ({f"{PREFIX}-{host.name}": host.address for host in edge.hosts} if edge.hosts
                  else {f"{PREFIX}-edge": edge.address})
        spaces[f"{PREFIX}-call"] = CALLER_ADDRESS
        spaces[f"{PREFIX}-web"] = BROWSER_ADDRESS
        spaces.update({f"{PREFIX}-{node.name}": node.address for node in self.cluster.nodes})
        return spaces

    def host_addresses(self) -> list[str]:
        return [HOST_ADDRESS, *(d.address for d in self.cluster.daemons)]

    def up(self) -> None:
        self.down()  # whatever a killed run left
        bridge = f"{PREFIX}-br"
        _run("ip", "netns", "add", bridge)
        self.made.append(bridge)
        _run("ip", "-n", bridge, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", bridge, "link", "set", "br0", "up")
        for i, (space, address) in enumerate(self.namespaces().items()):
            _run("ip", "netns", "add", space)
            self.made.append(space)
            inside, port = self.edge_spaces().get(space) or f"{PREFIX}{i}n", f"{PREFIX}{i}b"
            _run("ip", "link", "add", inside, "netns", space, "type", "veth", "peer", "name", port, "netns", bridge)
            _run("ip", "-n", bridge, "link", "set", port, "master", "br0", "up")
            _run("ip", "-n", space, "addr", "add", f"{address}/{NETMASK}", "dev", inside)
            _run("ip", "-n", space, "link", "set", inside, "up")
            _run("ip", "-n", space, "link", "set", "lo", "up")
        # This machine's end: the daemons' addresses (deleted with the veth pair).
        _run("ip", "link", "add", f"{PREFIX}-h", "type", "veth", "peer", "name", f"{PREFIX}hb", "netns", bridge)
        _run("ip", "-n", bridge, "link", "set", f"{PREFIX}hb", "master", "br0", "up")
        for address in self.host_addresses():
            _run("ip", "addr", "add", f"{address}/{NETMASK}", "dev", f"{PREFIX}-h")
        _run("ip", "link", "set", f"{PREFIX}-h", "up")

    def down(self) -> None:
        _run("ip", "link", "delete", f"{PREFIX}-h", check=False)
        spaces = [f"{PREFIX}-br", *self.namespaces()]
        for space in spaces:
            _run("ip", "netns", "delete", space, check=False)
        self.made.clear()


@dataclass
class Node:
    """One Asterisk node: the sandbox instance in its namespace, with its own config folder."""

    name: str
    address: str
    namespace: str
    config_dir: Path

    @property
    def instance(self) -> int:
        return INSTANCES[self.name]

    @property
    def ami_port(self) -> int:
        return 5038 + 100 * self.instance

    def env(self) -> dict[str, str]:
        return {**os.environ, "IVR_SANDBOX_INSTANCE": str(self.instance), "IVR_SANDBOX_NETNS": self.namespace,
                "IVR_ASTERISK_CONFIG": str(self.config_dir), "IVR_AMI_SECRET": AMI_SECRET}

    def sandbox(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return _run(str(SANDBOX), *args, timeout=timeout, env=self.env())

    def pid(self) -> int | None:
        path = Path("/var/run/ivr-sandbox") / str(self.instance) / "asterisk.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(path.read_text().strip())
            os.kill(pid, 0)
            return pid
        return None

    def kill(self) -> None:
        """SIGKILL, as when the machine's Asterisk crashes: no SIP goodbye to anyone."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)

    def ami_env(self) -> dict[str, str]:
        """The environment of an `ivr` command that talks to this node's AMI (`ivr agents ...`)."""
        return {**os.environ, "IVR_AMI_HOST": self.address, "IVR_AMI_PORT": str(self.ami_port),
                "IVR_AMI_USER": "ivr", "IVR_AMI_SECRET": AMI_SECRET}

    def log_path(self) -> Path:
        return Path(self.sandbox("root").stdout.strip()) / "var" / "log" / "asterisk" / "full"


def node_config(config: Path, cluster: Cluster, name: str, out: Path, passwords: Path) -> Path:
    """asterisk-config/ as node `name` runs it: generated for it, AMI reachable by its daemon."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(REPO / "asterisk-config", out)
    shutil.copy(passwords, out / "pjsip_agents_auth.conf")  # the browser softphones' (desk phones: Kamailio's)
    _run(sys.executable, "-m", "ivr", "asterisk", "generate", "--config", str(config), "--out", str(out),
         "--node", name)
    # One host in production runs Asterisk and its daemon side by side (AMI on loopback); here the
    # daemons live in another namespace, so AMI listens on the node's own namespace (which has no
    # other address than the node's) and lets the cluster's network in.
    manager = out / "manager.conf"
    text = manager.read_text(encoding="utf-8").replace("bindaddr = 127.0.0.1", "bindaddr = 0.0.0.0")
    text = text.replace("permit = 127.0.0.1/255.255.255.255",
                        f"permit = 127.0.0.1/255.255.255.255\npermit = {SUBNET}.0/255.255.255.0")
    manager.write_text(text, encoding="utf-8")
    return out


@dataclass
class Daemon:
    """An `ivr run` on this machine, listening for FastAGI on its cluster address."""

    name: str
    address: str
    port: int
    node: Node  # the Asterisk whose AMI it follows
    config: Path
    state_dir: Path
    db_url: str
    peers: str
    softphone_auth: Path  # pjsip_agents_auth.conf: the browser softphones' passwords the desktop hands out
    proc: subprocess.Popen[bytes] | None = None

    @property
    def desktop(self) -> str:
        return f"http://{self.address}:{WEB_PORT}"

    def start(self, timeout: float = 30) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = self.state_dir / "daemon.log"
        offset = log.stat().st_size if log.exists() else 0
        env = {**os.environ, "IVR_AGI_HOST": self.address, "IVR_AGI_ALLOWED_PEERS": self.peers,
               "IVR_AMI_HOST": self.node.address, "IVR_AMI_PORT": str(self.node.ami_port), "IVR_AMI_USER": "ivr",
               "IVR_AMI_SECRET": AMI_SECRET, "IVR_DB_URL": self.db_url, "IVR_MQTT_HOST": "127.0.0.1",
               # The desktop on the daemon's address; its softphone config names the edge's WebSocket
               # (the cluster's default on plain http: no IVR_SOFTPHONE_WS_URL).
               "IVR_WALLBOARD_HOST": self.address, "IVR_WALLBOARD_PORT": str(WEB_PORT),
               "IVR_SOFTPHONE_AUTH_FILE": str(self.softphone_auth), "IVR_HASH_KEY": HASH_KEY,
               "IVR_CALLBACK_KEY": CALLBACK_KEY, "IVR_CALLBACK_SCAN_S": "1",
               # One name per daemon: the broker drops a client whose id (ivr-node-<node>) another takes,
               # also another run's beside this one on the same broker (hence the prefix).
               "IVR_NODE_ID": self.name if PREFIX == "ivrc" else f"{PREFIX}-{self.name}"}
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ivr", "run", "--config", str(self.config), "--agi-port", str(self.port),
                 "--state-dir", str(self.state_dir), "--allow-test-clock"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=REPO,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = log.read_bytes()[offset:].decode("utf-8", errors="replace")
            if '"daemon started"' in text and '"ami.connected"' in text:
                return
            if self.proc.poll() is not None:
                raise ClusterError(f"daemon {self.name} exited {self.proc.returncode}: {text[-2000:]}")
            time.sleep(0.2)
        raise ClusterError(f"daemon {self.name} not ready within {timeout} s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class ClusterRun:
    """Everything of the module's docstring, started by `start()` and stopped by `stop()`."""

    work: Path
    db_url: str = DEMO_DB
    network: Network | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    daemons: dict[str, Daemon] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)  # namespace → edge
    config: Path | None = None
    passwords: Path | None = None  # pjsip_agents_auth.conf of `ivr asterisk passwords`: phone → password

    def start(self, say: object = print) -> None:
        log = say if callable(say) else print
        self.config, cluster = cluster_config(self.work)
        clear_agent_sessions(self.config)
        self.passwords = self.work / "pjsip_agents_auth.conf"
        _run(sys.executable, "-m", "ivr", "asterisk", "passwords", "--config", str(self.config),
             "--out", str(self.passwords))
        self.network = Network(cluster)
        self.network.up()
        log(f"network: bridge and namespaces up ({', '.join(self.network.namespaces())}); "
            f"daemons' addresses {', '.join(d.address for d in cluster.daemons)} on this machine")
        for spec in cluster.nodes:
            node = Node(spec.name, spec.address, f"{PREFIX}-{spec.name}",
                        node_config(self.config, cluster, spec.name, self.work / f"asterisk-{spec.name}",
                                    self.passwords))
            self.nodes[spec.name] = node
            node.sandbox("start")
            log(f"asterisk {spec.name}: up at {spec.address}:{spec.port} (sandbox instance {node.instance})")
        peers = ",".join(n.address for n in cluster.nodes)
        nodes = list(self.nodes.values())
        for i, dspec in enumerate(cluster.daemons):
            daemon = Daemon(dspec.name, dspec.address, dspec.port, nodes[i % len(nodes)], self.config,
                            self.work / f"daemon-{dspec.name}", self.db_url, peers, self.passwords)
            self.daemons[dspec.name] = daemon
            daemon.start()
            log(f"daemon {dspec.name}: FastAGI on {dspec.address}:{dspec.port}, AMI of {daemon.node.name}")
        hosts = cluster.edge.hosts
        for space, interface in self.network.edge_spaces().items():
            host = next((h for h in hosts if f"{PREFIX}-{h.name}" == space), None)
            self.edges[space] = Edge(space, self.work / ("kamailio" if host is None else f"kamailio-{host.name}"),
                                     name=host.name if host else None,
                                     address=host.address if host else cluster.edge.address,
                                     interface=interface, service_address=cluster.edge.address)
        # The second edge's Kamailio first: DMQ (Kamailio 5.6) marks a peer that did not answer its first
        # notification "pending" until its next ping (60 s at the least), and the first edge, which takes
        # the address, must replicate the phones' registrations to the other from the start.
        for edge in reversed(self.edges.values()):
            edge.start(self.config, self.passwords)
        for edge in self.edges.values():  # each probes the nodes from its own address
            self.wait_states({n.address: "A" for n in cluster.nodes}, timeout=15, edge=edge)
            if edge.name is not None:
                edge.start_keepalived()
        if hosts:
            first, second = self.edges.values()
            self.wait_dmq(first, second.address, timeout=10)
        holder = self.wait_holder(timeout=15)
        log(f"kamailio: {cluster.edge.address}:{cluster.edge.port} held by {holder.name or 'the single edge'}"
            f"{' (keepalived)' if hosts else ''}; nodes {holder.states()}")

    @property
    def edge(self) -> Edge | None:
        """The edge that holds the service address now (the first, while none does)."""
        edges = list(self.edges.values())
        return next((e for e in edges if e.holds_address()), edges[0] if edges else None)

    def wait_holder(self, timeout: float, other_than: Edge | None = None) -> Edge:
        """Wait until exactly one edge (not `other_than`) holds the service address."""
        deadline = time.monotonic() + timeout
        while True:
            holders = [e for e in self.edges.values() if e is not other_than and e.holds_address()]
            if len(holders) == 1:
                return holders[0]
            if time.monotonic() > deadline:
                raise ClusterError(f"service address held by {[e.namespace for e in holders]} after {timeout} s")
            time.sleep(0.05)

    def wait_dmq(self, edge: Edge, peer: str, timeout: float) -> float:
        """Seconds until `edge` counts the DMQ peer at `peer` active (it replicates to it)."""
        started = time.monotonic()
        while (nodes := edge.dmq_nodes()).get(peer) != "active":
            if time.monotonic() - started > timeout:
                raise ClusterError(f"DMQ at {edge.namespace}: {nodes}, {peer} not active after {timeout} s")
            time.sleep(0.1)
        return time.monotonic() - started

    def wait_states(self, wanted: dict[str, str], timeout: float, edge: Edge | None = None) -> float:
        """Wait until each node's dispatcher flags (at `edge`, default: the holder) start with the wanted
        letter (A or I); the seconds."""
        edge = edge or self.edge
        assert edge is not None
        started = time.monotonic()
        while True:
            states = edge.states()
            if all(states.get(address, "").startswith(letter) for address, letter in wanted.items()):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise ClusterError(f"dispatcher states {states} at {edge.namespace}, wanted {wanted}")
            time.sleep(0.05)

    def stop(self) -> None:
        for edge in self.edges.values():
            with contextlib.suppress(Exception):
                edge.stop()
        for daemon in self.daemons.values():  # all at once: each may wait for its calls' grace time
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.proc.terminate()
        for daemon in self.daemons.values():
            with contextlib.suppress(Exception):
                daemon.stop()
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.sandbox("stop", timeout=60)
        if self.network is not None:
            self.network.down()


@contextlib.contextmanager
def running(work: Path, db_url: str = DEMO_DB) -> Iterator[ClusterRun]:
    run = ClusterRun(work, db_url)
    try:
        run.start()
        yield run
    finally:
        run.stop()
