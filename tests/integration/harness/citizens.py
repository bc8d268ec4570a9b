"""Citizens calling the city, for tests that do not care how: over SIP by default (a SIPp UAC through
the operator's trunk, harness/sipp.py), or as Asterisk Local channels ([caller-sim]) with
IVR_TEST_CITIZENS=local. Either way the test gets a `SimCall` handle on the channel the IVR sees
(its Uniqueid, its AMI events), and `press()` presses the next group of keys given as `then`.

Over SIP nothing can be set on the channel by the caller, so:
- IVR_TEST_NOW (the daemon's test clock, read at the start of the call) travels in the INVITE's
  X-IVR-Test-Now header, which a daemon run with --allow-test-clock reads (ivr/clock.py);
- other `variables` are set on the PJSIP channel over AMI as soon as it exists: fine for what the
  dialplan reads later (e.g. IVR_TRANSFER_RING, __TRUNK_NOANSWER, __AGENT_TALK), never for what the
  first priorities read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .ami import AmiClient, SimCall, new_token
from .sipp import Citizen, CitizenCall, SippError, start_citizen

TEST_CLOCK = "IVR_TEST_NOW"
TEST_CLOCK_HEADER = "X-IVR-Test-Now"  # ivr/clock.py TEST_CLOCK_HEADER
TRUNK_CHANNEL = "PJSIP/operator-"


def default_transport() -> str:
    value = os.environ.get("IVR_TEST_CITIZENS", "sip").strip().lower() or "sip"
    if value not in ("sip", "local"):
        raise ValueError(f"IVR_TEST_CITIZENS={value!r}: sip or local")
    return value


@dataclass
class CitizenHandle(SimCall):
    """A SimCall (AMI events of the channel the IVR sees) plus how to press keys later."""

    sip: Citizen | None = None
    then: list[str] = field(default_factory=list)
    pressed: int = 0

    async def press(self) -> str:
        """Press the next group of `then` keys now."""
        if self.pressed >= len(self.then):
            raise ValueError(f"no more keys to press (then={self.then})")
        keys = self.then[self.pressed]
        self.pressed += 1
        if self.sip is not None:
            return await self.sip.press()
        assert self.channel is not None
        for digit in keys:  # from the caller's half of the Local channel, as SendDTMF would
            if digit == "w":
                await asyncio.sleep(0.5)
                continue
            await self.ami.action("PlayDTMF", Channel=self.channel.replace(";1", ";2"), Digit=digit, Duration="150")
        return keys

    def kill(self) -> None:
        """End a SIP citizen's SIPp at once (for a call Asterisk can no longer end: it restarted)."""
        if self.sip is not None:
            self.sip.kill()

    async def sip_result(self, timeout: float = 30) -> CitizenCall:
        """The SIP messages of the whole call, once it has ended (SIP citizens only)."""
        assert self.sip is not None, "not a SIP call"
        return await asyncio.wait_for(self.sip.result(check=True), timeout)


class Citizens:
    """Places citizens' calls (see the module's docstring); `close()` ends what is left."""

    def __init__(self, ami: AmiClient, workdir: Path, transport: str | None = None) -> None:
        self.ami = ami
        self.workdir = workdir
        self.transport = transport or default_transport()
        self.calls: list[CitizenHandle] = []
        self._claimed: set[str] = set()

    @property
    def over_sip(self) -> bool:
        return self.transport == "sip"

    async def call(
        self,
        *,
        exten: str = "4034100",
        caller_id: str = "+46701234567",
        dtmf: str = "",
        then: Iterable[str] = (),
        first_wait: float = 1,
        hold: float = 20,
        variables: Mapping[str, str] | None = None,
        caller_name: str = "Test Caller",
        withheld: bool = False,
        asserted: str | None = None,
        codec: str = "PCMA",
        timeout: float = 20,
    ) -> CitizenHandle:
        """A citizen calls `exten` from `caller_id`, presses `dtmf` ("w" = 0.5 s) `first_wait` s after
        the answer and stays on the line `hold` s after that (unless the city hangs up first).
        `withheld`: anonymous From with `Privacy: id` (SIP only; `asserted` as the network's PAI)."""
        then = list(then)
        variables = dict(variables or {})
        if not self.over_sip:
            if withheld or codec != "PCMA":
                raise ValueError("withheld callers and codecs need SIP citizens")
            sim = await self.ami.originate_caller(exten=exten, caller_id=caller_id, dtmf=dtmf, first_wait=first_wait,
                                                  hold=hold, variables=variables, caller_name=caller_name)
            handle = CitizenHandle(sim.ami, sim.token, sim.uniqueid, sim.far_uniqueid, sim.caller_id, sim.exten,
                                   sim.context, sim.since, then=then)
            self.calls.append(handle)
            return handle
        clock = variables.pop(TEST_CLOCK, None)
        since = self.ami.recorder.mark()
        token = new_token()
        # The display name tells concurrent calls from one number apart in AMI's Newchannel.
        display = f"{caller_name} {token[:8]}"
        keys_time = 0.5 * dtmf.count("w") + 0.45 * len(dtmf.replace("w", ""))
        sip = await start_citizen(
            exten, dtmf, then=then, caller=None if withheld else caller_id, display=display, withheld=withheld,
            asserted=asserted, headers={TEST_CLOCK_HEADER: clock} if clock else None, codec=codec,
            first_wait=first_wait, hangup_after=first_wait + keys_time + hold, workdir=self.workdir)
        expected = asserted if withheld and asserted else ("anonymous" if withheld else caller_id)
        try:
            channel = await self.ami.recorder.wait_for(
                lambda e: e.Event == "Newchannel" and (e.Channel or "").startswith(TRUNK_CHANNEL)
                and e.CallerIDNum == expected and e.Uniqueid not in self._claimed
                and (withheld or e.CallerIDName == display),
                timeout, since=since, what=f"the SIP call from {expected} arriving")
        except (TimeoutError, AssertionError) as exc:
            sip.kill()
            raise SippError(f"{exc}\n{(await sip.sipp.wait(5)).explain()}") from exc
        uniqueid = channel.Uniqueid or ""
        self._claimed.add(uniqueid)
        for name, value in variables.items():
            await self.ami.action("Setvar", Channel=channel.Channel, Variable=name, Value=value)
        handle = CitizenHandle(self.ami, token, uniqueid, f"sip-{uniqueid}-none", expected, exten,
                               "main-number", since, sip=sip, then=then)
        self.calls.append(handle)
        return handle

    async def close(self) -> None:
        for call in self.calls:
            await call.hangup()
        for call in self.calls:
            if call.sip is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(call.sip.sipp.wait(), 5)
                call.sip.kill()
