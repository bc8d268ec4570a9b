"""The cluster (docs/cluster.md): routing_rules.yaml `cluster:` checked by `ivr check` at its
file:line, Kamailio's dispatcher list and settings (`ivr kamailio generate`), the Asterisk side
(`ivr asterisk generate [--node NAME]`), and the dialplan's daemon list."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ivr.asterisk_gen.edge import daemons_conf, pjsip_edge, pjsip_node
from ivr.cli import main
from ivr.config.loader import ConfigSet
from ivr.config.model import Cluster
from ivr.kamailio_gen import dispatcher_list, settings_cfg, trunk_list
from ivr.keepalived_gen import keepalived_conf
from ivr.validate import load_config

REPO = Path(__file__).resolve().parents[2]
RULES = "routing_rules.yaml"
EXAMPLE = REPO / "kamailio" / "cluster.example.yaml"


def example() -> Cluster:
    return Cluster.model_validate(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["cluster"])


def with_cluster(config_tree: Path, text: str) -> None:
    path = config_tree / RULES
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def line_of(config_tree: Path, needle: str) -> int:
    lines = (config_tree / RULES).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


# --- the YAML ---------------------------------------------------------------------------------------

def test_the_example_is_a_valid_cluster(config_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with_cluster(config_tree, EXAMPLE.read_text(encoding="utf-8"))
    cluster = load_config(["."]).rules.cluster
    assert cluster is not None and [n.name for n in cluster.nodes] == ["ast-a", "ast-b"]
    assert main(["check"]) == 0


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    ("address: 10.98.7.11", "address: ast-a.example", "ast-a.example", "is not an IP address"),
    ("name: ast-b, address: 10.98.7.12", "name: ast-a, address: 10.98.7.12", "edge:", "'ast-a' is used twice"),
    ("10.98.7.22, port: 4573", "10.98.7.21, port: 4573", "edge:", "two daemons at 10.98.7.21:4573"),
    ("probe_interval: 1 ", "probe_interval: 0 ", "probe_interval", "greater than or equal to 1"),
    ("probe_threshold: 2", "probe_treshold: 2", "probe_treshold", "unknown field 'probe_treshold'"),
    # the edge pair
    ("      - {name: edge-2, address: 10.98.7.14, interface: eth0}\n", "", "address: 10.98.7.10",
     "hosts lists 1 edge(s): give exactly two"),
    ("name: edge-2, address: 10.98.7.14", "name: edge-1, address: 10.98.7.14", "address: 10.98.7.10",
     "edge host name 'edge-1' is used twice"),
    ("name: edge-2, address: 10.98.7.14", "name: edge-2, address: 10.98.7.13", "address: 10.98.7.10",
     "both edge hosts have the address 10.98.7.13"),
    ("name: edge-2, address: 10.98.7.14", "name: edge-2, address: 10.98.7.10", "address: 10.98.7.10",
     "edge host edge-2 has the shared address 10.98.7.10 as its own"),
    ("name: edge-2, address: 10.98.7.14", "name: edge-2, address: 10.98.7.12", "edge:",
     "edge host edge-2 has the address of node ast-b (10.98.7.12)"),
    ("interface: eth0}   #", "interface: a-very-long-interface}   #", "a-very-long-interface",
     "'a-very-long-interface' is not a network interface name"),
    ("vrrp_router_id: 51", "vrrp_router_id: 256", "vrrp_router_id", "less than or equal to 255"),
    ("advert_interval_ms: 1000", "advert_interval_ms: 1005", "advert_interval_ms", "multiple of 10"),
    ("trunk_from: [10.98.7.20]", "trunk_from: [sbc.example]", "trunk_from", "is not an IP address"),
    # the browsers' WebSocket port must not be one of the edge's SIP (UDP) ports
    ("ws_port: 5066", "ws_port: 5070", "address: 10.98.7.10", "ws_port 5070 is one of the edge's SIP ports"),
])
def test_cluster_problems_at_their_line(config_tree: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
                                        needle: str, message: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    with_cluster(config_tree, text.replace(old, new))
    capsys.readouterr()
    assert main(["check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    file, line, _column, rest = lines[0].split(":", 3)
    assert (file, int(line)) == (RULES, line_of(config_tree, needle)), lines[0]
    assert message in rest, lines[0]


def test_a_single_edge_without_the_pair_fields_stays_valid() -> None:
    single = Cluster.model_validate({"edge": {"address": "10.98.7.10"},
                                     "nodes": [{"name": "a", "address": "10.98.7.11"}],
                                     "daemons": [{"name": "d", "address": "10.98.7.21"}]})
    assert not single.edge.paired and single.edge.sources() == ["10.98.7.10"]
    assert single.edge.trunk_from == () and single.edge.vrrp_router_id == 51


def test_a_cluster_without_trunk_from_takes_the_trunks_addresses(config_tree: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert load_config(["."]).rules.trunk is None
    with_cluster(config_tree, EXAMPLE.read_text(encoding="utf-8").replace("    trunk_from: [10.98.7.20]", ""))
    capsys.readouterr()
    assert main(["check"]) == 1  # neither trunk_from nor a trunk: no call could come in
    assert "cluster.edge.trunk_from (or trunk.inbound_from): give one of them" in capsys.readouterr().out
    with_cluster(config_tree, "trunk: {address: 192.0.2.10, inbound_from: [192.0.2.10, 192.0.2.16/28]}\n")
    rules = load_config(["."]).rules
    assert rules.trunk_sources() == ("192.0.2.10/32", "192.0.2.16/28")


# --- Kamailio -----------------------------------------------------------------------------------------

def test_dispatcher_list_has_every_node_in_set_1() -> None:
    lines = [line for line in dispatcher_list(example()).splitlines() if not line.startswith("#")]
    assert lines == ["1 sip:10.98.7.11:5060 0 0 duid=ast-a", "1 sip:10.98.7.12:5060 0 0 duid=ast-b"]


def test_settings_are_substitutions_that_kamailio_cfg_uses(tmp_path: Path) -> None:
    text = settings_cfg(example(), tmp_path / "dispatcher.list")
    names = dict(re.findall(r'#!substdef "!(\w+)!([^!]*)!g"', text))
    assert names["EDGE_ADDR"] == "10.98.7.10" and names["PROBE_INTERVAL"] == "1"
    assert names["DISPATCHER_LIST"] == str(tmp_path / "dispatcher.list")
    cfg = (REPO / "kamailio" / "kamailio.cfg").read_text(encoding="utf-8")
    assert 'import_file "cluster.cfg"' in cfg
    for name in names:  # every generated value is used, and nothing else is expected
        assert name in cfg.split('import_file "cluster.cfg"', 1)[1], name
    for needed in ("ds_select_dst", "ds_next_dst", 'ds_mark_dst("ip")', "t_set_fr", "record_route()",
                   "failure_route[NEXT_NODE]", '"ds_probing_mode", 1'):
        assert needed in cfg, needed


def test_the_pair_gets_own_and_peer_addresses_and_dmq(tmp_path: Path) -> None:
    cluster = example()
    second = cluster.edge.hosts[1]
    text = settings_cfg(cluster, tmp_path / "dispatcher.list", tmp_path / "trunk.list", second)
    names = dict(re.findall(r'#!substdef "!(\w+)!([^!]*)!g"', text))
    assert (names["EDGE_ADDR"], names["OWN_ADDR"], names["PEER_ADDR"]) == ("10.98.7.10", "10.98.7.14", "10.98.7.13")
    assert names["EDGE_NAME"] == "edge-2" and "#!define EDGE_PAIR" in text.splitlines()
    single = settings_cfg(cluster, tmp_path / "dispatcher.list", tmp_path / "trunk.list", None)
    names = dict(re.findall(r'#!substdef "!(\w+)!([^!]*)!g"', single))
    assert names["OWN_ADDR"] == names["PEER_ADDR"] == "10.98.7.10" and "EDGE_PAIR" not in single
    cfg = (REPO / "kamailio" / "kamailio.cfg").read_text(encoding="utf-8")
    pair = cfg.split("#!ifdef EDGE_PAIR")
    assert len(pair) == 5  # listen on the own address, the DMQ modules, their parameters, KDMQ
    for needed in ('loadmodule "dmq_usrloc.so"', '"server_address", "sip:OWN_ADDR:EDGE_PORT"',
                   '"notification_address", "sip:PEER_ADDR:EDGE_PORT"', "listen=udp:OWN_ADDR:EDGE_PORT",
                   "dmq_handle_message()"):
        assert needed in "".join(part.split("#!endif", 1)[0] for part in pair[1:]), needed
    assert '"ds_default_socket", "udp:OWN_ADDR:EDGE_PORT"' in cfg


def test_keepalived_moves_the_service_address_and_tracks_kamailio() -> None:
    cluster = example()
    first, second = cluster.edge.hosts
    text = keepalived_conf(cluster, first, "unix:/run/k/ctl")
    assert "state BACKUP" in text and "nopreempt" in text and "priority 150" in text
    assert "unicast_src_ip 10.98.7.13" in text and re.search(r"unicast_peer \{\s+10\.98\.7\.14\s+\}", text)
    assert "10.98.7.10/32 dev eth0" in text and "virtual_router_id 51" in text and "advert_int 1\n" in text
    assert 'script "/usr/sbin/kamcmd -s unix:/run/k/ctl core.uptime"' in text
    assert re.search(r"track_script \{\s+kamailio_alive\s+\}", text)
    other = keepalived_conf(cluster, second)
    assert "priority 100" in other and "unicast_src_ip 10.98.7.14" in other
    assert "unix:/run/kamailio/kamailio_ctl" in other


def test_keepalived_accepts_the_generated_conf(tmp_path: Path) -> None:
    """`keepalived -t`: Debian's keepalived (scripts/setup installs it) parses what we write."""
    path = tmp_path / "keepalived.conf"
    path.write_text(keepalived_conf(example(), example().edge.hosts[0]), encoding="utf-8")
    done = subprocess.run(["keepalived", "-t", "-f", str(path)], capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_trunk_list_is_a_permissions_address_file() -> None:
    lines = [line for line in trunk_list(["192.0.2.10/32", "192.0.2.16/28", "2001:db8::/64"]).splitlines()
             if not line.startswith("#")]
    assert lines == ["1 192.0.2.10 32 0 trunk", "1 192.0.2.16 28 0 trunk", "1 [2001:db8::] 64 0 trunk"]
    cfg = (REPO / "kamailio" / "kamailio.cfg").read_text(encoding="utf-8")
    assert '"address_file", "TRUNK_LIST"' in cfg
    invite = cfg.split('if (is_method("INVITE")) {\n\t\t# Neither a phone', 1)[1]
    assert invite.index('allow_source_address("1")') < invite.index('sl_send_reply("403"') < invite.index("DISPATCH")


def test_kamailio_generate_wants_the_edge_of_a_pair(config_tree: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with_cluster(config_tree, EXAMPLE.read_text(encoding="utf-8"))
    out = tmp_path / "k"
    capsys.readouterr()
    assert main(["kamailio", "generate", "--out", str(out)]) == 1
    assert "--edge NAME says which one this is" in capsys.readouterr().err
    assert main(["kamailio", "generate", "--out", str(out), "--edge", "edge-3"]) == 1
    assert "no edge 'edge-3'" in capsys.readouterr().err
    assert main(["kamailio", "generate", "--out", str(out), "--edge", "edge-2"]) == 0
    assert "priority 100" in (out / "keepalived.conf").read_text(encoding="utf-8")
    assert "1 10.98.7.20 32 0 trunk" in (out / "trunk.list").read_text(encoding="utf-8")
    assert main(["kamailio", "generate", "--out", str(out), "--edge", "edge-2", "--check"]) == 0
    assert main(["kamailio", "generate", "--out", str(out), "--edge", "edge-1", "--check"]) == 1


def test_kamailio_generate_needs_a_cluster(config_tree: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kamailio", "generate", "--out", str(tmp_path / "k")]) == 1
    assert "no `cluster:`" in capsys.readouterr().err
    with_cluster(config_tree, EXAMPLE.read_text(encoding="utf-8"))
    assert main(["kamailio", "generate", "--out", str(tmp_path / "k"), "--edge", "edge-1"]) == 0
    assert main(["kamailio", "generate", "--out", str(tmp_path / "k"), "--edge", "edge-1", "--check"]) == 0
    (tmp_path / "k" / "dispatcher.list").write_text("1 sip:192.0.2.1:5060 0 0\n", encoding="utf-8")
    assert main(["kamailio", "generate", "--out", str(tmp_path / "k"), "--edge", "edge-1", "--check"]) == 1


# --- Asterisk -----------------------------------------------------------------------------------------

def test_edge_endpoint_is_identified_by_kamailios_address() -> None:
    text = pjsip_edge(example(), None)
    # The service address and both edges' own (their probes): the standby knows the nodes' state.
    assert "match = 10.98.7.10:5060,10.98.7.13:5060,10.98.7.14:5060" in text and "context = main-number" in text
    assert "transport = transport-edge" in text and "trust_id_inbound = yes" in text


def test_daemons_are_tried_in_the_listed_order() -> None:
    text = daemons_conf(example())
    assert "IVR_AGI_HOSTS = 10.98.7.21:4573&10.98.7.22:4573" in text
    # One list for every route ([ivr-agi]): no route has an address of its own.
    assert "agi://" not in text and text.count(" = ") == 1


def test_node_transport_binds_the_nodes_own_address(config_tree: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert "bind = 10.98.7.12:5060" in pjsip_node(example(), "ast-b")
    with_cluster(config_tree, EXAMPLE.read_text(encoding="utf-8"))
    out = tmp_path / "etc"
    out.mkdir()
    assert main(["asterisk", "generate", "--out", str(out), "--node", "ast-c"]) == 1
    assert "no node 'ast-c'" in capsys.readouterr().err
    assert main(["asterisk", "generate", "--out", str(out), "--node", "ast-a"]) == 0
    assert "bind = 10.98.7.11:5060" in (out / "pjsip_node.conf").read_text(encoding="utf-8")


def test_without_a_cluster_nothing_changes(shipped_config: ConfigSet) -> None:
    assert shipped_config.rules.cluster is None
    assert "[edge]" not in pjsip_edge(None, shipped_config.rules.trunk)
    assert "IVR_AGI_HOSTS" not in daemons_conf(None).replace("(IVR_AGI_HOSTS)", "")
    conf = (REPO / "asterisk-config" / "extensions.conf").read_text(encoding="utf-8")
    globals_part = conf.split("\n[globals]", 1)[1].split("\n[", 1)[0]
    assert "IVR_AGI_HOSTS = 127.0.0.1:4573" in globals_part
    # The generated list is included after the default, so a cluster's list wins.
    assert globals_part.index("IVR_AGI_HOSTS =") < globals_part.index('#include "extensions_daemons.conf"')
    pjsip = (REPO / "asterisk-config" / "pjsip.conf").read_text(encoding="utf-8")
    assert '#include "pjsip_edge.conf"' in pjsip and '#tryinclude "pjsip_node.conf"' in pjsip


def test_node_file_stays_out_of_git() -> None:
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "asterisk-config/pjsip_node.conf" in ignored


SINGLE_EDGE = ("    hosts:", "    vrrp_router_id:", "    advert_interval_ms:", "      - {name: edge-")


@pytest.mark.parametrize("edge", ["edge-1", None])
def test_kamailio_accepts_the_shipped_cfg_with_generated_files(config_tree: Path, tmp_path: Path,
                                                               edge: str | None) -> None:
    """`kamailio -c`: Debian's Kamailio (scripts/setup installs it) parses kamailio.cfg, its modules'
    parameters (dmq and dmq_usrloc for a pair, permissions) and the generated cluster.cfg, for one of
    a pair and for a single edge; nothing is started."""
    text = EXAMPLE.read_text(encoding="utf-8")
    if edge is None:
        text = "\n".join(line for line in text.splitlines() if not line.startswith(SINGLE_EDGE))
    with_cluster(config_tree, text)
    out = tmp_path / "kamailio"
    assert main(["kamailio", "generate", "--out", str(out), *(("--edge", edge) if edge else ())]) == 0
    shutil.copy(REPO / "kamailio" / "kamailio.cfg", out / "kamailio.cfg")
    done = subprocess.run(["kamailio", "-c", "-f", str(out / "kamailio.cfg")], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
