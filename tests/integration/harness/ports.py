"""The ports of this test run's Asterisk instance (scripts/asterisk-sandbox, IVR_SANDBOX_INSTANCE=N):
every port moves by 100*N so several instances can run side by side."""

from __future__ import annotations

import os

INSTANCE = int(os.environ.get("IVR_SANDBOX_INSTANCE", "0") or 0)
AMI_PORT = 5038 + 100 * INSTANCE
AGI_PORT = 4573 + 100 * INSTANCE
SIP_PORT = 5060 + 100 * INSTANCE
# SIPp (harness/sipp.py): a citizen calling in through the operator's trunk sends from one of these
# ports, which the sandbox identifies as the trunk; the operator's end of the trunk listens on
# OPERATOR_PORT. Agents' phones use any other port (identified by their digest authentication).
CITIZEN_PORTS = range(SIP_PORT + 10, SIP_PORT + 20)
OPERATOR_PORT = SIP_PORT + 20
# The trunk's own transport in the sandbox (ivr/asterisk_gen/trunk.py sandbox_trunk): where the
# operator's network (a citizen's SIPp) sends its INVITEs.
TRUNK_PORT = SIP_PORT + 22
