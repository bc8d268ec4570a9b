"""The ports of this test run's Asterisk instance (scripts/asterisk-sandbox, IVR_SANDBOX_INSTANCE=N):
every port moves by 100*N so several instances can run side by side."""

from __future__ import annotations

import os

INSTANCE = int(os.environ.get("IVR_SANDBOX_INSTANCE", "0") or 0)
AMI_PORT = 5038 + 100 * INSTANCE
AGI_PORT = 4573 + 100 * INSTANCE
SIP_PORT = 5060 + 100 * INSTANCE
