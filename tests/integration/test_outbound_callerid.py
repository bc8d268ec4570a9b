"""Outbound calls on the real Asterisk with the real daemon: what the operator's network receives.

SIPp plays the operator (harness/sipp.py operator_uas) at the far end of the real PJSIP trunk (the
generated pjsip_trunk.conf, pointed at SIPp by harness/trunk.py); the tests read each INVITE from
SIPp's message log: the request URI (the number dialled), From (user and display name),
P-Asserted-Identity or Remote-Party-ID, and Privacy. The officials' and agents' phones that place
the calls are still Local channels originated over AMI into their PJSIP contexts
([officials-outbound], [agent-phones]) with the phone's extension as caller ID (the dialplan knows a
non-PJSIP phone by that caller ID), except in the last test, where officials' and an agent's phones
are SIPp UACs authenticating as their PJSIP endpoints (all four choices). Everything from
[outbound-trunk] on is the production path.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.ami import AmiClient, SimCall
from harness.daemon import DaemonProcess
from harness.sandbox import Sandbox
from harness.sipp import OperatorUas, SipMessage, agent_passwords, agent_phone, operator_uas
from harness.trunk import operator_trunk

from ivr.asterisk_gen.callerid import callerid_table
from ivr.asterisk_gen.pjsip import write_passwords
from ivr.config.loader import ConfigSet
from ivr.config.model import CallerIdRule
from ivr.validate import load_config

pytestmark = pytest.mark.real_daemon

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config([REPO])
MAIN = CONFIG.rules.main_number
NAME = CONFIG.rules.caller_id.name


def official(extension: str) -> tuple[str, str]:
    """(direct line, department's number) of the official with this extension."""
    person = next(o for o in CONFIG.officials.values() if o.extension == extension)
    return person.direct_line, CONFIG.departments[person.department].number or ""


@dataclasses.dataclass(frozen=True)
class Case:
    shown: str  # the policy's choice
    context: str
    phone: str  # the phone's extension
    dialled: str
    number: str  # the request URI's user: what the operator is asked to call
    expect: str  # the number the network must get (From when shown, PAI/RPID always)
    withheld: bool = False


# Daemon up: the policy decides per call (routing_rules.yaml caller_id, agents/officials.yaml).
UP = [
    Case("direct_line", "officials-outbound", "2101", "0701150001", "0701150001", official("2101")[0]),
    Case("department_number", "officials-outbound", "2101", "*8110701150002", "0701150002", official("2101")[1]),
    Case("main_number", "officials-outbound", "2102", "*810+46701150003", "+46701150003", MAIN),
    Case("withheld", "officials-outbound", "2104", "0701150004", "0701150004", MAIN, withheld=True),
    Case("main_number", "agent-phones", "1001", "0701150005", "0701150005", MAIN),
]


def user_of(header: str | None) -> str | None:
    match = re.search(r"<?sips?:([^@;>]+)@", header or "")
    return match[1] if match else None


def display_of(header: str | None) -> str | None:
    match = re.match(r'\s*"([^"]*)"', header or "")
    return match[1] if match else None


async def place(ami: AmiClient, case: Case) -> SimCall:
    """The phone dials: the far half of the Local channel is the phone (answers, stays on)."""
    return await ami.originate_caller(exten=case.dialled, context=case.context, caller_id=case.phone,
                                      caller_name="Phone", dtmf="", first_wait=0, hold=10)


async def invites_for(operator: OperatorUas, cases: list[Case]) -> dict[str, SipMessage]:
    """The INVITE the operator received for each case, by the number it was asked to call."""
    await operator.wait_invite(30, count=len(cases))
    found: dict[str, SipMessage] = {}
    for invite in operator.invites():
        found[user_of(invite.uri) or ""] = invite
    assert sorted(found) == sorted(c.number for c in cases), [m.uri for m in operator.invites()]
    return found


def assert_presentation(invite: SipMessage, case: Case, *, mode: str, name: str | None) -> None:
    """Exactly the policy's choice: From (user, display name), the identity header of `mode`, Privacy."""
    what = f"{case.shown} from {case.phone} ({mode})"
    sender = invite.headers.get("From")
    pai, rpid = invite.headers.get("P-Asserted-Identity"), invite.headers.get("Remote-Party-ID")
    privacy = invite.headers.get_all("Privacy")
    if case.withheld:
        # Nothing identifies the city in From; the network still gets the main number (PAI/RPID).
        assert user_of(sender) == "anonymous", (what, sender)
        assert case.expect not in (sender or ""), (what, sender)
    else:
        assert (user_of(sender), display_of(sender)) == (case.expect, name), (what, sender)
    if mode == "pai":
        assert user_of(pai) == case.expect, (what, pai)
        assert rpid is None, (what, rpid)
        assert privacy == (["id"] if case.withheld else []), (what, privacy)
    elif mode == "rpid":
        assert user_of(rpid) == case.expect, (what, rpid)
        assert pai is None, (what, pai)
        params = dict(p.strip().partition("=")[::2] for p in (rpid or "").split(">", 1)[-1].split(";") if p.strip())
        assert params.get("privacy") == ("full" if case.withheld else "off"), (what, rpid)
        assert privacy == [], (what, privacy)
    else:  # from: no identity header at all; a withheld call is only the anonymous From
        assert (pai, rpid, privacy) == (None, None, []), (what, pai, rpid, privacy)


async def run_cases(ami: AmiClient, tmp_path: Path,
                    cases: list[Case]) -> tuple[list[SimCall], dict[str, SipMessage]]:
    """Each case's phone dials; the SIPp operator answers and hangs up after a second."""
    async with operator_uas(calls=len(cases), ring=0.1, hangup_after=1.0, workdir=tmp_path / "operator") as operator:
        calls = await asyncio.gather(*[place(ami, case) for case in cases])
        invites = await invites_for(operator, cases)
        await asyncio.gather(*[call.wait_hangup(30) for call in calls])
    return calls, invites


@pytest.fixture
def sip_operator(asterisk: Sandbox) -> Iterator[str]:
    with operator_trunk(asterisk) as text:
        yield text


def sqlite_bytes(daemon: DaemonProcess) -> bytes:
    return b"".join(path.read_bytes() for path in daemon.state_dir.iterdir() if path.name.startswith("ivr.db"))


async def test_the_operator_receives_the_policys_choice_daemon_up(
        ami: AmiClient, daemon: DaemonProcess, sip_operator: str, tmp_path: Path) -> None:
    assert "send_pai = yes" in sip_operator  # the shipped mode (routing_rules.yaml trunk.caller_id_header)
    calls, invites = await run_cases(ami, tmp_path, UP)
    assert CONFIG.rules.trunk is not None
    offered = [{"alaw": "PCMA", "ulaw": "PCMU", "g722": "G722"}[c] for c in CONFIG.rules.trunk.codecs]
    for case in UP:
        assert_presentation(invites[case.number], case, mode="pai", name=NAME)
        # The trunk's codecs in its order: A-law first (Sweden's PSTN), then RFC 4733 events.
        assert invites[case.number].sdp_codecs() == [*offered, "telephone-event"], case
    for call, case in zip(calls, UP, strict=True):
        assert call.first(lambda e: e.Event == "VarSet" and e.Variable == "IVR_OUT_RESULT" and e.Value == "dial"), case
        assert not call.events(lambda e: e.Event == "Newexten" and e.Context == "ivr-outbound-fallback"), case
    decided = [line["shown"] for line in daemon.log_lines() if line.get("event") == "outbound caller ID decided"]
    assert sorted(decided) == sorted(case.shown for case in UP)
    # The operator answered: the hangup handlers report how the registered dials ended (registered:
    # the calls with a purpose, department number and main number, and the agent's).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        ended = [line for line in daemon.log_lines() if line.get("event") == "outbound call ended"]
        if len(ended) == 3:
            break
        await asyncio.sleep(0.2)
    assert sorted(line["outcome"] for line in ended) == ["answered"] * 3
    # Neither the registry (SQLite file and its WAL) nor the daemon's log holds a citizen's number.
    raw, log = sqlite_bytes(daemon), daemon.log_text()
    assert b"contact_attempts" in raw
    for case in UP:
        assert case.number.lstrip("+0").encode() not in raw
        assert case.number.lstrip("+0") not in log


def with_department_default(config: ConfigSet, extension: str) -> ConfigSet:
    """The shipped config plus a rule giving one official the department's number by default, so the
    generated table holds all four choices (the shipped rules use it only with a purpose)."""
    rule = CallerIdRule(extension=extension, show="department_number", note="test: table entry")
    caller_id = config.rules.caller_id.model_copy(update={"rules": (*config.rules.caller_id.rules, rule)})
    return dataclasses.replace(config, rules=config.rules.model_copy(update={"caller_id": caller_id}))


@pytest.fixture
def department_table(asterisk: Sandbox) -> Iterator[None]:
    """[ivr-callerid-table] generated from with_department_default(), installed and reloaded; the
    shipped table is put back afterwards."""
    path = asterisk.root / "etc" / "asterisk" / "extensions_callerid.conf"
    shipped = path.read_text(encoding="utf-8")
    path.write_text(callerid_table(with_department_default(CONFIG, "2103")), encoding="utf-8")
    asterisk.cli("dialplan reload")
    try:
        yield
    finally:
        path.write_text(shipped, encoding="utf-8")
        asterisk.cli("dialplan reload")


async def test_the_operator_receives_the_tables_choice_daemon_down(
        ami: AmiClient, daemon: DaemonProcess, sip_operator: str, department_table: None, tmp_path: Path) -> None:
    await daemon.stop()
    down = [
        Case("direct_line", "officials-outbound", "2101", "0701150011", "0701150011", official("2101")[0]),
        Case("department_number", "officials-outbound", "2103", "0701150012", "0701150012", official("2103")[1]),
        Case("main_number", "agent-phones", "1002", "0701150013", "0701150013", MAIN),
        Case("withheld", "officials-outbound", "2104", "0701150014", "0701150014", MAIN, withheld=True),
        # A phone the table does not know keeps its own caller ID (never a failed call).
        Case("own", "officials-outbound", "2999", "0701150015", "0701150015", "2999"),
        # A purpose needs the daemon: without it the official's default from the table.
        Case("direct_line", "officials-outbound", "2101", "*8110701150016", "0701150016", official("2101")[0]),
    ]
    assert official("2103")[1] not in (official("2103")[0], MAIN, "")
    calls, invites = await run_cases(ami, tmp_path, down)
    for call, case in zip(calls, down, strict=True):
        # The table gives the number, the presentation and the city's name, as the daemon would; the
        # unknown phone keeps its own caller ID and name ("Phone").
        assert_presentation(invites[case.number], case, mode="pai", name="Phone" if case.phone == "2999" else NAME)
        assert call.first(lambda e: e.Event == "Newexten" and e.Context == "ivr-outbound-fallback"), case
        from_table = call.events(lambda e: e.Event == "Newexten" and e.Context == "ivr-callerid-table")
        assert bool(from_table) == (case.phone != "2999"), case
        assert call.first(lambda e: e.Event == "VarSet" and e.Variable == "AGISTATUS" and e.Value == "FAILURE"), case


@pytest.mark.parametrize("mode", ["pai", "rpid", "from"])
async def test_caller_id_header_modes(ami: AmiClient, daemon: DaemonProcess, asterisk: Sandbox, tmp_path: Path,
                                      mode: str) -> None:
    prefix = f"070115{20 + ['pai', 'rpid', 'from'].index(mode)}"  # distinct numbers per mode
    cases = [
        Case("direct_line", "officials-outbound", "2101", f"{prefix}01", f"{prefix}01", official("2101")[0]),
        Case("withheld", "officials-outbound", "2104", f"{prefix}02", f"{prefix}02", MAIN, withheld=True),
    ]
    with operator_trunk(asterisk, caller_id_header=mode) as text:
        assert f"send_pai = {'yes' if mode == 'pai' else 'no'}" in text
        assert f"send_rpid = {'yes' if mode == 'rpid' else 'no'}" in text
        _, invites = await run_cases(ami, tmp_path, cases)
    for case in cases:
        assert_presentation(invites[case.number], case, mode=mode, name=NAME)


async def test_emergency_calls_skip_the_daemon(ami: AmiClient, daemon: DaemonProcess, sip_operator: str,
                                               tmp_path: Path) -> None:
    case = Case("direct_line", "officials-outbound", "2101", "112", "112", official("2101")[0])
    calls, invites = await run_cases(ami, tmp_path, [case])
    # The official can be called back: the board's default (the table), with no daemon in between.
    assert_presentation(invites["112"], case, mode="pai", name=NAME)
    assert not calls[0].events(lambda e: e.Event == "Newexten" and e.Application == "AGI")


@pytest.fixture
def sip_phones(asterisk: Sandbox) -> Iterator[dict[str, str]]:
    """Real PJSIP phones. Officials 2101 and 2104: endpoints as an admin writes them (pjsip.conf's
    official-phone template, one long random password each), added to the sandbox's installed
    pjsip_sandbox.conf for this test. Agent 1001: the generated endpoint with its password from
    pjsip_agents_auth.conf (`ivr asterisk passwords`; written here when the sandbox has none).
    Everything is put back afterwards. Extension → password."""
    etc = asterisk.root / "etc" / "asterisk"
    path, auth = etc / "pjsip_sandbox.conf", etc / "pjsip_agents_auth.conf"
    original = path.read_text(encoding="utf-8")
    had_auth = auth.exists()
    write_passwords(CONFIG, auth)
    passwords = {extension: secrets.token_urlsafe(18) for extension in ("2101", "2104")}
    blocks = "".join(f"""
; TEST ONLY: official {extension}'s desk phone (tests/integration/test_outbound_callerid.py)
[{extension}](official-phone)
auth = {extension}
aors = {extension}
[{extension}](agent-auth)
username = {extension}
password = {password}
[{extension}](agent-aor)
""" for extension, password in passwords.items())
    path.write_text(original + blocks, encoding="utf-8")
    asterisk.cli("module reload res_pjsip.so")
    try:
        yield {**passwords, "1001": agent_passwords(etc)["1001"]}
    finally:
        path.write_text(original, encoding="utf-8")
        if not had_auth:
            auth.unlink()
        asterisk.cli("module reload res_pjsip.so")


async def test_real_sip_phones_reach_the_operator_with_the_policys_choice(
        daemon: DaemonProcess, sip_operator: str, sip_phones: dict[str, str], tmp_path: Path) -> None:
    """No Local channel: officials' and an agent's phones are SIPp UACs that authenticate as their
    PJSIP endpoints and dial; the dialplan knows the caller by the authenticated endpoint. All four
    choices, daemon up."""
    cases = [Case("direct_line", "officials-outbound", "2101", "0701170001", "0701170001", official("2101")[0]),
             Case("department_number", "officials-outbound", "2101", "*8110701170002", "0701170002",
                  official("2101")[1]),
             Case("withheld", "officials-outbound", "2104", "0701170003", "0701170003", MAIN, withheld=True),
             Case("main_number", "agent-phones", "1001", "0701170004", "0701170004", MAIN)]
    async with operator_uas(calls=len(cases), ring=0.1, hangup_after=1.0, workdir=tmp_path / "operator") as operator:
        async with contextlib.AsyncExitStack() as stack:
            phones = {extension: await stack.enter_async_context(
                agent_phone(extension, password, workdir=tmp_path / f"phone-{extension}"))
                for extension, password in sip_phones.items()}
            dialled = await asyncio.gather(*[phones[case.phone].dial(case.dialled) for case in cases])
        invites = await invites_for(operator, cases)
    for case, result in zip(cases, dialled, strict=True):
        assert_presentation(invites[case.number], case, mode="pai", name=NAME)
        # The phone's own call: challenged, authenticated, answered by the operator, ended by Asterisk.
        assert [m.status for m in result.responses("INVITE", "received") if m.status in (401, 200)] == [401, 200]
        assert result.requests("BYE", "received"), case
    decided = [line for line in daemon.log_lines() if line.get("event") == "outbound caller ID decided"]
    assert sorted(line["shown"] for line in decided) == sorted(case.shown for case in cases)
