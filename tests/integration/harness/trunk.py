"""Point the sandbox's operator trunk at a SIPp operator (harness/sipp.py operator_uas).

By default the sandbox's trunk (asterisk-config/sandbox/pjsip_trunk.conf) sends outbound calls to
the stand-in operator, Asterisk itself on SIP_PORT+21 ([trunk-sim], UserEvent TrunkCall). Inside
`operator_trunk()` the instance's installed pjsip_trunk.conf is the same generated trunk
(ivr.asterisk_gen.trunk, from routing_rules.yaml) contacting OPERATOR_PORT instead, optionally with
another caller-ID header mode or with credentials (an auth section in pjsip_trunk_auth.conf, as an
admin writes it); res_pjsip is reloaded, and the default is restored afterwards.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

from ivr.asterisk_gen.trunk import AUTH, AUTH_FILE, ENDPOINT, pjsip_trunk, sandbox_trunk
from ivr.config.model import TrunkAuth
from ivr.validate import load_config

from .ports import OPERATOR_PORT, SIP_PORT
from .sandbox import Sandbox

REPO = Path(__file__).resolve().parents[3]


def trunk_text(*, operator_port: int | None = None, caller_id_header: str | None = None,
               auth: TrunkAuth | None = None, sip_port: int = SIP_PORT) -> str:
    """The sandbox trunk's pjsip_trunk.conf for the instance whose SIP port is `sip_port` (this run's
    unless told; ports already moved)."""
    trunk = sandbox_trunk(load_config([REPO]).rules.trunk, sip_port=sip_port, operator_port=operator_port,
                          caller_id_header=caller_id_header)
    if auth is not None:
        trunk = trunk.model_copy(update={"auth": auth})
    return pjsip_trunk(trunk)


def _install(sandbox: Sandbox, text: str, port: int, secret: str | None = None) -> None:
    etc = sandbox.root / "etc" / "asterisk"
    (etc / "pjsip_trunk.conf").write_text(text, encoding="utf-8")
    if secret is not None:
        (etc / AUTH_FILE).write_text(secret, encoding="utf-8")
        (etc / AUTH_FILE).chmod(0o640)
    else:
        (etc / AUTH_FILE).unlink(missing_ok=True)
    sandbox.cli("module reload res_pjsip.so")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if re.search(rf"sip:127\.0\.0\.1:{port}\b", sandbox.cli(f"pjsip show aor {ENDPOINT}")):
            return
        time.sleep(0.1)
    raise AssertionError(f"the trunk's AOR did not change to port {port}:\n{sandbox.cli(f'pjsip show aor {ENDPOINT}')}")


@contextlib.contextmanager
def operator_trunk(sandbox: Sandbox, *, caller_id_header: str | None = None, port: int = OPERATOR_PORT,
                   auth: TrunkAuth | None = None, password: str = "", sip_port: int = SIP_PORT) -> Iterator[str]:
    """Outbound calls go to a SIPp operator on 127.0.0.1:`port` while inside; yields the installed
    pjsip_trunk.conf text (for a test to show what Asterisk ran with). With `auth`, the trunk
    authenticates (and registers, if auth.registration) with `password` from pjsip_trunk_auth.conf.
    `sip_port`: another instance's (a cluster node's, with `port` its SIP port + 20)."""
    text = trunk_text(operator_port=port, caller_id_header=caller_id_header, auth=auth, sip_port=sip_port)
    secret = None
    if auth is not None:
        secret = (f"; TEST ONLY: written by tests/integration/harness/trunk.py\n[{AUTH}]\ntype = auth\n"
                  f"auth_type = userpass\nusername = {auth.username}\npassword = {password}\n")
    _install(sandbox, text, port, secret)
    try:
        yield text
    finally:
        _install(sandbox, trunk_text(sip_port=sip_port), sip_port + 21)
