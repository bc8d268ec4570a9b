"""Integration tests against a real Asterisk 22 (scripts/asterisk-sandbox), each marked with what it
runs against: real_daemon, in_process_daemon, asterisk_only or no_asterisk (harness/kinds.py).

The session fixture `asterisk` starts the sandbox (building its Debian root first if needed) and
stops it at the end of the session, whatever happened. Nothing is skipped: when Asterisk cannot
start, every test here errors with the script's output and the tail of Asterisk's log.

A sandbox that is already running when the session starts is restarted, so that the tests run on
the current asterisk-config/ and on fresh queue state. IVR_SANDBOX_REUSE=1 uses a running one as
it is and leaves it running afterwards (for poking at it by hand after a run).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from harness import agi_hosts, kinds
from harness.ami import AmiClient
from harness.citizens import Citizens
from harness.daemon import DaemonProcess
from harness.fake_agi import FakeAgi
from harness.faults import BusCapture, private_broker
from harness.kinds import KINDS
from harness.sandbox import Sandbox
from harness.sipp import agent_passwords, inbound_trunk_configured

from ivr.daemon import Daemon

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here carries exactly one kind marker (harness/kinds.py): which it is decides what
    the counts in README.md say, so a test without one stops the run."""
    unmarked = []
    for item in items:
        if HERE not in Path(str(item.fspath)).resolve().parents:
            continue
        kinds_here = [name for name in KINDS if item.get_closest_marker(name)]
        if len(kinds_here) != 1:
            unmarked.append(f"{item.nodeid}: {kinds_here or 'no kind marker'}")
        if kinds_here != ["no_asterisk"]:
            item.add_marker(pytest.mark.asterisk)
    if unmarked:
        raise pytest.UsageError("integration tests need exactly one of the markers "
                                f"{', '.join(KINDS)} (tests/integration/harness/kinds.py):\n  " + "\n  ".join(unmarked))


@pytest.fixture(autouse=True)
def _what_runs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Holds each test to its kind marker: what it starts, and that a daemon test starts one."""
    kind = next(name for name in KINDS if request.node.get_closest_marker(name))
    real_start = Daemon.start

    async def start_in_process(self: Daemon) -> None:
        kinds.started("in_process_daemon", "the daemon inside pytest (ivr.daemon.Daemon)")
        await real_start(self)

    monkeypatch.setattr(Daemon, "start", start_in_process)
    kinds.begin(kind)
    marker = request.node.get_closest_marker(kind)
    yield
    problem = kinds.end(started_elsewhere=bool(marker and marker.kwargs.get("started_by")))
    if problem:
        pytest.fail(problem)


@pytest.fixture(scope="session")
def asterisk() -> Iterator[Sandbox]:
    if os.geteuid() != 0:
        raise RuntimeError("the Asterisk sandbox needs root (chroot, mount)")
    sandbox = Sandbox()
    reuse = os.environ.get("IVR_SANDBOX_REUSE") == "1" and sandbox.running()
    try:
        if not reuse:
            sandbox.stop()
            sandbox.start()
        yield sandbox
    finally:
        if not reuse:
            sandbox.stop()


@pytest.fixture(autouse=True)
def _asterisk_running(request: pytest.FixtureRequest) -> Sandbox | None:
    """Every test in this directory needs the sandbox, but those marked no_asterisk."""
    if request.node.get_closest_marker("no_asterisk"):
        return None
    sandbox: Sandbox = request.getfixturevalue("asterisk")
    return sandbox


@pytest.fixture
async def ami(asterisk: Sandbox) -> AsyncIterator[AmiClient]:
    """An AMI connection as the all-privileges test user; simulated calls are hung up after."""
    client = await AmiClient.connect()
    try:
        yield client
    finally:
        await client.hangup_all_sim_calls()
        await client.close()


@pytest.fixture
async def first_daemon_down(ami: AmiClient) -> AsyncIterator[str]:
    """IVR_AGI_HOSTS with a dead port first (harness/agi_hosts.py): every route of the dialplan meets
    a refused connection before it reaches the test's daemon. Yields the dead host:port."""
    async with agi_hosts.first_daemon_down(ami) as dead:
        yield dead


@pytest.fixture
async def fake_agi(asterisk: Sandbox) -> AsyncIterator[FakeAgi]:
    """The fake FastAGI daemon on 127.0.0.1:4573, closed after the test."""
    server = FakeAgi()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def daemon(asterisk: Sandbox, tmp_path: Path) -> AsyncIterator[DaemonProcess]:
    """The real IVR daemon on this instance's FastAGI port, with the shipped config and the test clock."""
    process = DaemonProcess(state_dir=tmp_path / "daemon")
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[BusCapture]:
    """A private broker and a subscriber that records everything published on it."""
    broker = private_broker(tmp_path / "mqtt")
    broker.start()
    capture = BusCapture(broker.port)
    await capture.start()
    try:
        yield capture
    finally:
        await capture.stop()
        broker.stop()


@pytest.fixture
def sip_trunk(asterisk: Sandbox) -> Sandbox:
    """The operator's trunk as SIPp citizens reach it (harness/sipp.py citizen_call): the sandbox's
    configuration identifies their source ports as the trunk."""
    etc = asterisk.root / "etc" / "asterisk"
    if not inbound_trunk_configured(etc):
        raise RuntimeError(f"no PJSIP identify for the citizens' SIPp ports in {etc} (sandbox pjsip_trunk.conf)")
    return asterisk


@pytest.fixture
def phone_passwords(asterisk: Sandbox) -> dict[str, str]:
    """Agents' phone passwords (extension -> password) from the sandbox's pjsip_agents_auth.conf,
    written by `ivr asterisk passwords` as an admin would (existing ones kept) and loaded into Asterisk."""
    etc = asterisk.root / "etc" / "asterisk"
    path = etc / "pjsip_agents_auth.conf"
    before = path.read_bytes() if path.exists() else b""
    done = subprocess.run([sys.executable, "-m", "ivr", "asterisk", "passwords", "--config", str(REPO),
                           "--out", str(path)], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ivr asterisk passwords failed:\n{done.stdout}{done.stderr}")
    if path.read_bytes() != before:
        asterisk.cli("module reload res_pjsip.so")
    return agent_passwords(etc)


@pytest.fixture
async def citizens(ami: AmiClient, sip_trunk: Sandbox, tmp_path: Path) -> AsyncIterator[Citizens]:
    """Citizens calling the city: over SIP through the operator's trunk (SIPp), or as Local channels
    with IVR_TEST_CITIZENS=local (harness/citizens.py); their calls are ended after the test."""
    group = Citizens(ami, tmp_path / "sipp")
    try:
        yield group
    finally:
        await group.close()
