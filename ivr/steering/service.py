"""Setting and clearing a switch or a temporary message: Asterisk's AstDB first (what calls obey), then the
store's copy and the audit (who, when, what; never a phone number)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from ivr.ami.port import AmiPort
from ivr.config.loader import ConfigSet
from ivr.steering import store
from ivr.steering.entry import Entry, Kind, key_for
from ivr.steering.publish import SoundPlace, entry_for, new_sound_dir, publish, render_sounds, withdraw
from ivr.steering.spec import Spec
from ivr.store.db import Database


class NotAllowed(Exception):
    """The supervisor may not steer this (another group's)."""


def authorise(config: ConfigSet, supervisor: str, group: str | None) -> None:
    """Any supervisor may steer the whole line (an emergency cannot wait for the right one); a group only
    the supervisors of that group."""
    found = config.supervisors.get(supervisor)
    if found is None:
        raise NotAllowed(f"'{supervisor}' is not a supervisor (agents/*.yaml supervisors:)")
    if group is not None and group not in found.groups:
        raise NotAllowed(f"{supervisor} supervises {', '.join(found.groups)}, not {group}")


async def set_entry(ami: AmiPort, db: Database, config: ConfigSet, spec: Spec, place: SoundPlace, *,
                    actor: str, via: str, now: dt.datetime) -> Entry:
    sound_dir = new_sound_dir(place, spec, now)
    render_sounds(spec, place, sound_dir)
    entry = entry_for(spec, config, sound_dir)
    await publish(ami, entry)
    with db.transaction():
        store.save(db, store.StoredEntry(entry, spec.group or "", dict(spec.texts), actor, time.time()))
        store.audit(db, actor=actor, via=via, action=f"{spec.kind}.set", target=_target(spec.group),
                    detail=_detail(entry, spec, config))
    return entry


async def clear_entry(ami: AmiPort, db: Database, config: ConfigSet, kind: Kind, group: str | None, *,
                      actor: str, via: str) -> bool:
    """Remove the line's or the group's switch or message; False when there was none."""
    queue = config.groups[group].queue if group else None
    key = key_for(kind, queue)
    was_set = await withdraw(ami, key)
    with db.transaction():
        stored = store.remove(db, key)
        store.audit(db, actor=actor, via=via, action=f"{kind}.clear", target=_target(group),
                    detail={"was_set": was_set or stored})
    return was_set or stored


def _target(group: str | None) -> str:
    return f"group:{group}" if group else "line"


def _detail(entry: Entry, spec: Spec, config: ConfigSet) -> dict[str, Any]:
    detail: dict[str, Any] = {"languages": list(entry.languages), "sound_dir": entry.sound_dir,
                              "text": dict(spec.texts), "recorded": sorted(spec.recordings)}
    if spec.starts is not None:
        detail["from"] = spec.starts.astimezone(config.zone).isoformat(timespec="minutes")
    if spec.ends is not None:
        detail["until"] = spec.ends.astimezone(config.zone).isoformat(timespec="minutes")
    return detail
