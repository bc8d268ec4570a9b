"""The dialplan's caller-ID table for when the daemon is down (AstDB `ivr_callerid`), written over AMI."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ivr.ami.errors import AmiTimeout
from ivr.callerid.fallback_table import FAMILY, FallbackTable, fallback_entries
from ivr.config import ConfigSet
from ivr.config.holder import ConfigHolder

REPO = Path(__file__).resolve().parents[2]


class FakeAmi:
    """Answers DB actions like Asterisk; `fail_on` makes one action time out."""

    def __init__(self, fail_on: str = "") -> None:
        self.sent: list[dict[str, str]] = []
        self.connected = True
        self.reconnect: list[Callable[[], Any]] = []
        self.fail_on = fail_on
        self.db: dict[str, str] = {"other/1": "x", f"{FAMILY}/9999": "stale"}

    def on_reconnect(self, callback: Callable[[], Any]) -> None:
        self.reconnect.append(callback)

    async def action(self, fields: dict[str, str]) -> dict[str, str]:
        self.sent.append(fields)
        if fields["Action"] == self.fail_on:
            raise AmiTimeout("no answer")
        if fields["Action"] == "DBDelTree":
            gone = [k for k in self.db if k.startswith(fields["Family"] + "/")]
            for key in gone:
                del self.db[key]
            return {"Response": "Success"} if gone else {"Response": "Error", "Message": "Database entry not found"}
        self.db[f"{fields['Family']}/{fields['Key']}"] = fields["Val"]
        return {"Response": "Success", "Message": "Updated database successfully"}


def test_entries_are_each_phones_decision_without_a_purpose(shipped_config: ConfigSet) -> None:
    entries = fallback_entries(shipped_config)
    assert entries["2101"] == "allowed_not_screened:+4640342101"  # the board's default: the direct line
    assert entries["2104"] == "prohib_not_screened:+4640341000"  # withheld stays withheld without the daemon
    assert entries["1001"] == "allowed_not_screened:+4640341000"  # agents: the main number
    assert set(entries) == {o.extension for o in shipped_config.officials.values()} | \
        {a.extension for a in shipped_config.agents.values()}


async def test_sync_replaces_the_family_and_keeps_other_families(shipped_config: ConfigSet) -> None:
    ami = FakeAmi()
    table = FallbackTable(ami, ConfigHolder([REPO], initial=shipped_config))
    table.attach()
    assert ami.reconnect == [table.sync]
    await table.sync()
    assert ami.sent[0] == {"Action": "DBDelTree", "Family": FAMILY}
    assert ami.db[f"{FAMILY}/2102"] == "allowed_not_screened:+4640342102"
    assert f"{FAMILY}/9999" not in ami.db and ami.db["other/1"] == "x"
    assert table.synced_version == shipped_config.version
    await table.sync()  # an empty family the second time round is fine too
    assert table.synced_version == shipped_config.version


async def test_a_failed_sync_is_retried_when_the_config_version_differs(shipped_config: ConfigSet) -> None:
    ami = FakeAmi(fail_on="DBPut")
    holder = ConfigHolder([REPO], initial=shipped_config)
    table = FallbackTable(ami, holder, check_every_s=0.01)
    await table.sync()
    assert table.synced_version == ""
    ami.fail_on = ""
    await table.start()
    try:
        for _ in range(100):
            if table.synced_version:
                break
            await __import__("asyncio").sleep(0.01)
    finally:
        await table.stop()
    assert table.synced_version == shipped_config.version
    holder.current = dataclasses.replace(shipped_config, version="reloaded")
    await table.sync()
    assert table.synced_version == "reloaded"
