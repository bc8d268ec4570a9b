"""Point the sandbox's operator trunk at a SIPp operator (harness/sipp.py operator_uas).

By default the sandbox's trunk (asterisk-config/sandbox/pjsip_trunk.conf) sends outbound calls to
the stand-in operator, Asterisk itself on SIP_PORT+21 ([trunk-sim], UserEvent TrunkCall). Inside
`operator_trunk()` the instance's installed pjsip_trunk.conf is the same generated trunk
(ivr.asterisk_gen.trunk, from routing_rules.yaml) contacting OPERATOR_PORT instead, optionally with
another caller-ID header mode; res_pjsip is reloaded, and the default is restored afterwards.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

from ivr.asterisk_gen.trunk import ENDPOINT, pjsip_trunk, sandbox_trunk
from ivr.config import load_config

from .ports import OPERATOR_PORT, SIP_PORT
from .sandbox import Sandbox

REPO = Path(__file__).resolve().parents[3]


def trunk_text(*, operator_port: int | None = None, caller_id_header: str | None = None) -> str:
    """The sandbox trunk's pjsip_trunk.conf for this instance (ports already moved)."""
    trunk = load_config([REPO]).rules.trunk
    return pjsip_trunk(sandbox_trunk(trunk, sip_port=SIP_PORT, operator_port=operator_port,
                                     caller_id_header=caller_id_header))


def _install(sandbox: Sandbox, text: str, port: int) -> None:
    (sandbox.root / "etc" / "asterisk" / "pjsip_trunk.conf").write_text(text, encoding="utf-8")
    sandbox.cli("module reload res_pjsip.so")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if re.search(rf"sip:127\.0\.0\.1:{port}\b", sandbox.cli(f"pjsip show aor {ENDPOINT}")):
            return
        time.sleep(0.1)
    raise AssertionError(f"the trunk's AOR did not change to port {port}:\n{sandbox.cli(f'pjsip show aor {ENDPOINT}')}")


@contextlib.contextmanager
def operator_trunk(sandbox: Sandbox, *, caller_id_header: str | None = None,
                   port: int = OPERATOR_PORT) -> Iterator[str]:
    """Outbound calls go to a SIPp operator on 127.0.0.1:`port` while inside; yields the installed
    pjsip_trunk.conf text (for a test to show what Asterisk ran with)."""
    text = trunk_text(operator_port=port, caller_id_header=caller_id_header)
    _install(sandbox, text, port)
    try:
        yield text
    finally:
        _install(sandbox, trunk_text(), SIP_PORT + 21)
