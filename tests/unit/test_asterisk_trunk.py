"""The operator's trunk: routing_rules.yaml `trunk:` checked by `ivr check` (file:line:column) and
turned into pjsip_trunk.conf by `ivr asterisk generate` (ivr.asterisk_gen.trunk)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ivr.asterisk_gen import SANDBOX_TRUNK, generate, stale_files
from ivr.asterisk_gen.trunk import pjsip_trunk, sandbox_trunk
from ivr.cli import main
from ivr.config import ConfigError
from ivr.config.loader import ConfigSet
from ivr.config.model import Trunk, TrunkAuth
from ivr.validate import load_config

REPO = Path(__file__).resolve().parents[2]
RULES = "routing_rules.yaml"
TRUNK = """
trunk:
  address: 192.0.2.10
  codecs: [alaw, ulaw]
  inbound_from: [192.0.2.10, 198.51.100.0/28]
  caller_id_header: pai
"""


def sections(text: str) -> dict[str, dict[str, str]]:
    """pjsip.conf sections by `name/type` (the same name holds an endpoint and an AOR)."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    name = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(";"):
            continue
        if line.startswith("["):
            name, current = line.strip("[]"), {}
        elif "=" in line and current is not None:
            key, _, value = (part.strip() for part in line.partition("="))
            current[key] = value
            if key == "type":
                found[f"{name}/{value}"] = current
    return found


def trunk(**changes: object) -> Trunk:
    return Trunk.model_validate({"address": "192.0.2.10", "inbound_from": ["192.0.2.10"], **changes})


# --- generation -----------------------------------------------------------------------------------

def test_shipped_trunk_is_generated_and_current(shipped_config: ConfigSet) -> None:
    assert shipped_config.rules.trunk is not None
    files = generate(shipped_config, sandbox=True)
    conf = sections(files["pjsip_trunk.conf"])
    endpoint, aor, identify = conf["operator/endpoint"], conf["operator/aor"], conf["operator-identify/identify"]
    assert endpoint["context"] == "main-number"  # inbound calls run the main-number entry point
    assert endpoint["allow"].split(",")[0] == "alaw"
    assert (endpoint["send_pai"], endpoint["send_rpid"], endpoint["trust_id_outbound"]) == ("yes", "no", "yes")
    assert aor["contact"] == "sip:192.0.2.10:5060;transport=udp"
    assert identify["match"] == "192.0.2.10/32,192.0.2.16/28"
    # No password is ever generated (it lives in pjsip_trunk_auth.conf).
    assert all("password" not in section for section in conf.values())
    assert stale_files(shipped_config, REPO / "asterisk-config") == [], "run `ivr asterisk generate`"


def test_sandbox_trunk_is_the_shipped_one_on_loopback(shipped_config: ConfigSet) -> None:
    sandbox = sections(generate(shipped_config, sandbox=True)[SANDBOX_TRUNK])
    shipped = sections(generate(shipped_config)["pjsip_trunk.conf"])
    # Same endpoint behaviour (codecs, caller ID, context); only where it sends and listens differs.
    assert {k: v for k, v in sandbox["operator/endpoint"].items() if k != "transport"} == shipped["operator/endpoint"]
    assert sandbox["operator/aor"]["contact"] == "sip:127.0.0.1:5081;transport=udp"  # the stand-in operator
    assert sandbox["transport-operator/transport"]["bind"] == "127.0.0.1:5082"
    # Only the citizens' SIPp source ports are the operator: never all of 127.0.0.1 (agents' phones).
    assert sandbox["operator-identify/identify"]["match"].split(",") == [f"127.0.0.1:{p}" for p in range(5070, 5080)]
    # The stand-in (pjsip_sandbox.conf) knows the trunk by exactly the port it sends from.
    stand_in = sections((REPO / "asterisk-config" / "sandbox" / "pjsip_sandbox.conf").read_text(encoding="utf-8"))
    assert stand_in["operator-sim-identify/identify"]["match"] == "127.0.0.1:5082"
    assert stand_in["transport-operator-sim/transport"]["bind"] == "127.0.0.1:5081"
    moved = sections(pjsip_trunk(sandbox_trunk(shipped_config.rules.trunk, sip_port=5660, operator_port=5680,
                                               caller_id_header="rpid")))
    assert moved["operator/aor"]["contact"] == "sip:127.0.0.1:5680;transport=udp"
    assert moved["operator/endpoint"]["send_rpid"] == "yes"


@pytest.mark.parametrize(("mode", "pai", "rpid"), [("pai", "yes", "no"), ("rpid", "no", "yes"), ("from", "no", "no")])
def test_caller_id_header_modes(mode: str, pai: str, rpid: str) -> None:
    endpoint = sections(pjsip_trunk(trunk(caller_id_header=mode)))["operator/endpoint"]
    assert (endpoint["send_pai"], endpoint["send_rpid"]) == (pai, rpid)


def test_registration_and_auth_name_the_secret_file_only() -> None:
    text = pjsip_trunk(trunk(auth=TrunkAuth(username="4640341000", registration=True), port=5080))
    conf = sections(text)
    assert conf["operator/endpoint"]["outbound_auth"] == "operator-auth"
    registration = conf["operator-registration/registration"]
    assert registration["server_uri"] == "sip:192.0.2.10:5080;transport=udp"
    assert registration["client_uri"] == "sip:4640341000@192.0.2.10"
    assert registration["outbound_auth"] == "operator-auth"
    assert '#tryinclude "pjsip_trunk_auth.conf"' in text
    assert all("password" not in section for section in conf.values())
    without = sections(pjsip_trunk(trunk(auth=TrunkAuth(username="4640341000"))))
    assert "operator-registration/registration" not in without
    assert without["operator/endpoint"]["outbound_auth"] == "operator-auth"


def test_tls_gets_its_own_transport() -> None:
    conf = sections(pjsip_trunk(trunk(transport="tls", port=5061, local_address="10.0.0.5", local_port=5061,
                                      tls_certificate="/etc/asterisk/keys/ivr.pem",
                                      tls_private_key="/etc/asterisk/keys/ivr.key")))
    transport = conf["transport-operator/transport"]
    assert (transport["protocol"], transport["bind"]) == ("tls", "10.0.0.5:5061")
    assert transport["cert_file"] == "/etc/asterisk/keys/ivr.pem"
    assert conf["operator/endpoint"]["transport"] == "transport-operator"
    assert conf["operator/aor"]["contact"] == "sip:192.0.2.10:5061;transport=tls"


def test_no_trunk_means_no_operator() -> None:
    text = pjsip_trunk(None)
    assert sections(text) == {}
    assert "Outbound calls fail" in text


def test_secret_file_is_ignored_by_git() -> None:
    assert "asterisk-config/pjsip_trunk_auth.conf" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "pjsip_trunk_auth.conf" not in {Path(line).name for line in tracked.splitlines()}


# --- `ivr check` -------------------------------------------------------------------------------------

def with_trunk(config_tree: Path, text: str) -> None:
    path = config_tree / RULES
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def line_of(config_tree: Path, needle: str) -> int:
    lines = (config_tree / RULES).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def check_output(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["check"])
    return code, capsys.readouterr().out.splitlines()


def test_a_valid_trunk_passes(config_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with_trunk(config_tree, TRUNK)
    config = load_config(["."])
    assert config.rules.trunk is not None and config.rules.trunk.codecs == ("alaw", "ulaw")
    assert check_output(capsys)[0] == 0


@pytest.mark.parametrize(("old", "new", "message"), [
    ("codecs: [alaw, ulaw]", "codecs: [ulaw, alaw]", "codecs must start with alaw"),
    ("codecs: [alaw, ulaw]", "codecs: [alaw, opus]", "Input should be 'alaw', 'ulaw' or 'g722'"),
    ("inbound_from: [192.0.2.10, 198.51.100.0/28]", "inbound_from: [sbc.operator.example]",
     "is not an IP address"),
    ("inbound_from: [192.0.2.10, 198.51.100.0/28]", "inbound_from: [192.0.2.10, 198.51.100.1/28]",
     "is not an IP address"),
    ("caller_id_header: pai", "caller_id_header: diversion", "'pai', 'rpid' or 'from'"),
    ("caller_id_header: pai", "caller_id_header: pai\n  transport: tcp", "transport tcp needs local_address"),
    ("caller_id_header: pai", "caller_id_header: pai\n  password: hunter2", "unknown field 'password'"),
])
def test_trunk_problems_at_their_line(config_tree: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
                                      message: str) -> None:
    with_trunk(config_tree, TRUNK.replace(old, new))
    code, lines = check_output(capsys)
    assert code == 1
    assert len(lines) == 1, lines
    needle = new.splitlines()[-1].strip().split(":")[0] if "\n" in new else new.split(":")[0].strip()
    if "must start" in message or "needs local_address" in message:
        needle = "address:"  # a rule about the whole trunk is reported at its first key
    file, line, _column, rest = lines[0].split(":", 3)
    assert (file, int(line)) == (RULES, line_of(config_tree, needle)), lines[0]
    assert message in rest, lines[0]
    with pytest.raises(ConfigError) as caught:
        load_config(["."])
    assert [p.format() for p in caught.value.problems] == lines


def test_generate_reminds_of_the_missing_secret_file(config_tree: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with_trunk(config_tree, TRUNK + '  auth: {username: "4640341000"}\n')
    out = tmp_path / "etc"
    out.mkdir()
    assert main(["asterisk", "generate", "--config", ".", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "pjsip_trunk_auth.conf" in err and "4640341000" in err
    assert "outbound_auth = operator-auth" in (out / "pjsip_trunk.conf").read_text(encoding="utf-8")
    (out / "pjsip_trunk_auth.conf").write_text("[operator-auth]\n", encoding="utf-8")
    assert main(["asterisk", "generate", "--config", ".", "--out", str(out)]) == 0
    assert "pjsip_trunk_auth.conf" not in capsys.readouterr().err
