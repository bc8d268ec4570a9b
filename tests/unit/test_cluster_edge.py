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
from ivr.kamailio_gen import dispatcher_list, settings_cfg
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


def test_kamailio_generate_needs_a_cluster(config_tree: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kamailio", "generate", "--out", str(tmp_path / "k")]) == 1
    assert "no `cluster:`" in capsys.readouterr().err
    with_cluster(config_tree, EXAMPLE.read_text(encoding="utf-8"))
    assert main(["kamailio", "generate", "--out", str(tmp_path / "k")]) == 0
    assert main(["kamailio", "generate", "--out", str(tmp_path / "k"), "--check"]) == 0
    (tmp_path / "k" / "dispatcher.list").write_text("1 sip:192.0.2.1:5060 0 0\n", encoding="utf-8")
    assert main(["kamailio", "generate", "--out", str(tmp_path / "k"), "--check"]) == 1


# --- Asterisk -----------------------------------------------------------------------------------------

def test_edge_endpoint_is_identified_by_kamailios_address() -> None:
    text = pjsip_edge(example(), None)
    assert "match = 10.98.7.10" in text and "context = main-number" in text
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


def test_kamailio_accepts_the_shipped_cfg_with_generated_files(config_tree: Path, tmp_path: Path) -> None:
    """`kamailio -c`: Debian's Kamailio (scripts/setup installs it) parses kamailio.cfg, its modules'
    parameters and the generated cluster.cfg; nothing is started."""
    with_cluster(config_tree, EXAMPLE.read_text(encoding="utf-8"))
    out = tmp_path / "kamailio"
    assert main(["kamailio", "generate", "--out", str(out)]) == 0
    shutil.copy(REPO / "kamailio" / "kamailio.cfg", out / "kamailio.cfg")
    done = subprocess.run(["kamailio", "-c", "-f", str(out / "kamailio.cfg")], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
