"""`ivr asterisk generate`: the committed Asterisk files are what the YAML gives, and what they say."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ivr.asterisk_gen import generate, stale_files
from ivr.asterisk_gen.pjsip import read_credentials, write_passwords
from ivr.cli import main
from ivr.config.loader import ConfigSet

REPO = Path(__file__).resolve().parents[2]


def sections(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        if line.startswith("["):
            current = line
            found[current] = []
        elif line and current:
            found[current].append(line)
    return found


def test_committed_files_are_current(shipped_config: ConfigSet) -> None:
    assert stale_files(shipped_config, REPO / "asterisk-config") == [], "run `ivr asterisk generate`"


def test_check_mode_fails_on_a_stale_file(shipped_config: ConfigSet, tmp_path: Path) -> None:
    assert main(["asterisk", "generate", "--config", str(REPO), "--out", str(tmp_path), "--check"]) == 1
    assert main(["asterisk", "generate", "--config", str(REPO), "--out", str(tmp_path)]) == 0
    assert main(["asterisk", "generate", "--config", str(REPO), "--out", str(tmp_path), "--check"]) == 0


def test_a_queue_per_group_and_a_skill_queue_per_language(shipped_config: ConfigSet) -> None:
    queues = sections(generate(shipped_config)["queues_generated.conf"])
    assert "[kc-social-ar](ivr-queue)" in queues and "[kc-social-en](ivr-queue)" in queues
    social = queues["[kc-social](ivr-queue)"]
    assert {"strategy = rrmemory", "timeout = 20", "wrapuptime = 30", "weight = 10",
            "context = ivr-queue-exit"} <= set(social)
    assert "defaultrule = skills-45s" in queues["[kc-social-ar](ivr-queue)"]
    assert not any(line.startswith("member") for lines in queues.values() for line in lines)
    # Groups without a callback offer have no exit context: no key takes a caller out of the queue.
    assert not any(line.startswith("context") for line in queues["[kc-building](ivr-queue)"])
    template = queues["[ivr-queue](!)"]
    assert {"announce-position = more", "announce-position-limit = 10", "announce-frequency = 60",
            "announce-holdtime = yes", "joinempty = yes", "leavewhenempty = no"} <= set(template)


def test_rules_widen_after_the_groups_wait(shipped_config: ConfigSet) -> None:
    rules = sections(generate(shipped_config)["queuerules.conf"])
    assert rules["[skills-45s]"] == ["penaltychange => 45,99"]


def test_phones_without_passwords(shipped_config: ConfigSet) -> None:
    phones = generate(shipped_config)["pjsip_agents.conf"]
    assert "password =" not in phones
    assert '[1005](agent-phone)' in phones and 'callerid = "Emina Hodzic" <1005>' in phones


def test_passwords_are_added_once_and_kept(shipped_config: ConfigSet, tmp_path: Path) -> None:
    path = tmp_path / "pjsip_agents_auth.conf"
    extensions = ["1001", "1002", "1003", "1004", "1005", "1006"]
    # Agents' desk and browser phones, then the supervisor's desk phone.
    assert write_passwords(shipped_config, path) == [e for ext in extensions for e in (ext, f"web{ext}")] + ["1901"]
    first = path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert write_passwords(shipped_config, path) == []
    assert path.read_text() == first
    assert first.count("password = ") == 13 and "[agent-1003-auth]" in first and "[agent-web1003-auth]" in first
    desk, web = read_credentials(path, "1003"), read_credentials(path, "web1003")
    assert desk is not None and web is not None
    assert desk[0] == "1003" and web[0] == "web1003" and len(web[1]) >= 24 and web[1] != desk[1]
    assert read_credentials(path, "web1999") is None and read_credentials(tmp_path / "missing", "web1003") is None


def test_a_desk_file_from_before_the_browser_phones_gets_their_passwords(shipped_config: ConfigSet,
                                                                      tmp_path: Path) -> None:
    path = tmp_path / "pjsip_agents_auth.conf"
    path.write_text("; SECRET\n\n[agent-1001-auth]\ntype = auth\nauth_type = userpass\n"
                    "username = 1001\npassword = kept-as-it-was\n")
    added = write_passwords(shipped_config, path)
    assert "1001" not in added and "web1001" in added and "1002" in added
    assert read_credentials(path, "1001") == ("1001", "kept-as-it-was")


def test_every_agent_has_a_browser_softphone(shipped_config: ConfigSet) -> None:
    phones = sections(generate(shipped_config)["pjsip_agents.conf"])
    assert phones["[web1005](agent-webrtc)"] == ["auth = agent-web1005-auth", "aors = web1005",
                                                 'callerid = "Emina Hodzic" <1005>']
    assert "[web1005](agent-webrtc-aor)" in phones
