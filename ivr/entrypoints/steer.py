"""`agi://…/steer,<ask|commit>,<close|open|message<hours>>`: a supervisor steers the line from their phone
([supervisor-steer] in extensions.conf; docs/steering.md).

  *52            close the whole line: the supervisor records the message after the tone (# ends it)
  *53            open the line again
  *54<hours>     a temporary message for the whole line, recorded now, playing for 1-9 hours

The supervisor is the authenticated PJSIP endpoint (IVR_STEER_PHONE), never anything dialled. `ask`
checks the phone and, to record, names the file (IVR_STEER_RECORD, in a fresh folder under the steering
sounds) and answers IVR_STEER_RESULT=record; the dialplan records with Record() and comes back with
`commit`, which writes AstDB on the phone's own channel (DATABASE PUT: no AMI login needed), audits it
and says so. Any other IVR_STEER_RESULT means done (or refused, with a prompt played).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from ivr.agi.channel import AgiChannel
from ivr.dialplan_variables import IVR_STEER_PHONE, IVR_STEER_RECORD, IVR_STEER_RESULT
from ivr.steering import store
from ivr.steering.entry import FAMILY, Entry, key_for
from ivr.store.db import open_database
from ivr.supervision.policy import supervisor_for_phone

if TYPE_CHECKING:
    from ivr.agi.session import AgiSession
    from ivr.app import App

_PHONE = re.compile(r"^[0-9]{2,8}$")
_WHAT = re.compile(r"^(close|open|message[1-9])$")
_FOLDER = re.compile(r"^/[A-Za-z0-9/_-]{1,200}$")
# Supervisors hear the daemon's answers in Swedish, the contact center's working language; a recording
# made by phone is one recording for every caller (Entry.sound falls back to its one language).
LANGUAGE = "sv"


async def _variable(session: AgiSession, name: str) -> str:
    reply = await session.command("GET VARIABLE", name)
    return (reply.data or "").strip() if reply.result == "1" else ""


async def handle(app: App, session: AgiSession) -> None:
    call = app.calls.start(session, route="steer")
    channel = AgiChannel(session)
    step = session.args[0] if session.args else ""
    what = session.args[1] if len(session.args) > 1 else ""
    phone = await _variable(session, IVR_STEER_PHONE)
    supervisor = supervisor_for_phone(app.config.current, phone) if _PHONE.match(phone) else None
    if supervisor is None:
        call.log.warning("steer refused: not a supervisor's phone")
        await _answer(channel, "spy-unknown-phone", "unknown_phone")
        return
    if not _WHAT.match(what) or step not in ("ask", "commit"):
        call.log.warning("steer refused: unknown request", step=step[:8], what=what[:12])
        await _answer(channel, "steer-failed", "bad_request")
        return
    if what == "open":
        await _database(session, "DATABASE DEL", key_for("switch", None))
        await _opened(app, supervisor)
        call.log.info("steer", supervisor=supervisor, action="switch.clear")
        await _answer(channel, "steer-opened", "done")
        return
    if step == "ask":
        folder = f"{app.settings.steer_sounds.rstrip('/')}/{'switch' if what == 'close' else 'message'}-all-" \
                 f"{time.strftime('%Y%m%d%H%M%S')}-phone-{secrets.token_hex(3)}"
        await channel.play(f"ivr/{LANGUAGE}/steer-record", interrupt_keys="")
        await channel.set_variable(IVR_STEER_RECORD, f"{folder}/{LANGUAGE}")
        await channel.set_variable(IVR_STEER_RESULT, "record")
        return
    recorded = await _variable(session, IVR_STEER_RECORD)
    folder = recorded.removesuffix(f"/{LANGUAGE}")
    inside = folder.startswith(app.settings.steer_sounds.rstrip("/") + "/")
    if not _FOLDER.match(folder) or ".." in folder or not inside:
        call.log.warning("steer refused: bad recording path")
        await _answer(channel, "steer-failed", "failed")
        return
    now = int(time.time())
    if what == "close":
        entry = Entry("switch", None, 0, 0, folder, (LANGUAGE,))
    else:
        entry = Entry("message", None, now, now + 3600 * int(what.removeprefix("message")), folder, (LANGUAGE,))
    await _database(session, "DATABASE PUT", entry.key, entry.value())
    await asyncio.to_thread(_save, app.settings.store_url, entry, supervisor)
    call.log.info("steer", supervisor=supervisor, action=f"{entry.kind}.set", sound_dir=folder)
    await _answer(channel, "steer-closed" if what == "close" else "steer-message-set", "done")


async def _database(session: AgiSession, command: str, key: str, *value: str) -> None:
    reply = await session.command(command, FAMILY, key, *value)
    if reply.code != 200:
        raise RuntimeError(f"{command} {FAMILY}/{key}: {reply.code} {reply.data or ''}")


def _save(url: str, entry: Entry, supervisor: str) -> None:
    db = open_database(url)
    try:
        with db.transaction():
            store.save(db, store.StoredEntry(entry, "", {}, supervisor, time.time()))
            store.audit(db, actor=supervisor, via="phone", action=f"{entry.kind}.set", target="line",
                        detail=_detail(entry))
    finally:
        db.close()


async def _opened(app: App, supervisor: str) -> None:
    def write() -> None:
        db = open_database(app.settings.store_url)
        try:
            with db.transaction():
                store.remove(db, key_for("switch", None))
                store.audit(db, actor=supervisor, via="phone", action="switch.clear", target="line", detail={})
        finally:
            db.close()

    await asyncio.to_thread(write)


def _detail(entry: Entry) -> dict[str, Any]:
    detail: dict[str, Any] = {"languages": list(entry.languages), "sound_dir": entry.sound_dir, "recorded": ["sv"]}
    if entry.ends:
        detail["from"], detail["until"] = entry.starts, entry.ends
    return detail


async def _answer(channel: AgiChannel, prompt: str, result: str) -> None:
    await channel.play(f"ivr/{LANGUAGE}/{prompt}", interrupt_keys="")
    await channel.set_variable(IVR_STEER_RESULT, result)
