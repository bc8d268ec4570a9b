"""A test endpoint through which the sandbox calls itself over SIP as one of the city's phones would:
digest auth with that phone's password (as `ivr asterisk passwords` writes them), so the call
arrives in the phone's context exactly as a desk phone's would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness.daemon import REPO
from harness.ports import SIP_PORT
from harness.sandbox import Sandbox
from ivr.asterisk_gen.pjsip import auth_name, write_passwords
from ivr.validate import load_config


@contextmanager
def loop_phone(asterisk: Sandbox, extension: str, context: str, more: str = "") -> Iterator[str]:
    """Write the phones' passwords and endpoint `loop-<extension>` (plus `more`, extra pjsip.conf
    sections), reload PJSIP and yield the endpoint's name; removed again afterwards."""
    auth = asterisk.root / "etc" / "asterisk" / "pjsip_agents_auth.conf"
    write_passwords(load_config([REPO]), auth)
    endpoint = f"loop-{extension}"
    auth.write_text(auth.read_text() + f"""
; TEST ONLY: phone {extension} calling in, from the sandbox itself
[{endpoint}]
type = endpoint
context = {context}
disallow = all
allow = alaw,ulaw
outbound_auth = {auth_name(extension)}
aors = {endpoint}
from_user = {extension}
[{endpoint}]
type = aor
contact = sip:127.0.0.1:{SIP_PORT}
{more}""")
    asterisk.cli("module reload res_pjsip.so")
    try:
        yield endpoint
    finally:
        auth.unlink()
        asterisk.cli("module reload res_pjsip.so")
