"""Integration-test harness: a real Asterisk (scripts/asterisk-sandbox), a test-side AMI client
that records events and places simulated calls, a fake FastAGI daemon, and a runner for
table-driven call scenarios (tests/integration/scenarios/*.yaml)."""

from .ami import AmiClient, AmiError, AmiMessage, EventRecorder, SimCall
from .fake_agi import AgiScript, AgiSession, FakeAgi, port_in_use
from .sandbox import Sandbox, SandboxError
from .scenarios import Scenario, ScenarioResult, load_scenarios, run_scenarios

__all__ = [
    "AgiScript",
    "AgiSession",
    "AmiClient",
    "AmiError",
    "AmiMessage",
    "EventRecorder",
    "FakeAgi",
    "Sandbox",
    "SandboxError",
    "Scenario",
    "ScenarioResult",
    "SimCall",
    "load_scenarios",
    "port_in_use",
    "run_scenarios",
]
