"""The calls the benchmarks place: walks through the shipped main menu to a queue, as DTMF scripts."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.testing.fake_asterisk import fake_call

# 040-34 10 00 as the trunk delivers it (asterisk-config/extensions.conf [main-number]).
MAIN_DNID = "4034100"


@dataclass(frozen=True)
class Walk:
    name: str
    keys: tuple[str, ...]  # answers to the WAIT FOR DIGITs, in order
    queue: str  # where the dialplan must queue the caller
    dtmf: str  # the same keys for a real caller on Asterisk: "w" is half a second of pause

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "keys": list(self.keys), "queue": self.queue}


# Language, then the main menu (and the social sub-menu): three queues, three languages.
WALKS = (
    Walk("sv-school", ("1", "1"), "kc-school", "1ww1"),
    Walk("en-streets", ("2", "4"), "kc-streets", "2ww4"),
    Walk("ar-social", ("3", "2", "1"), "kc-social", "3ww2ww1"),
)


def walk_headers(walk: str) -> dict[str, str]:
    """The route's arguments as the shipped dialplan gives them ([ivr-entry]: "0", no steering set in
    AstDB), then the walk's name for the floor."""
    return {"agi_arg_1": "0", "agi_arg_2": walk}


async def record_sequences(port: int, *, dnid: str = MAIN_DNID) -> dict[str, list[str]]:
    """The exact command lines the server on `port` sends for each walk (the floor replays them; the
    floor picks the walk by `agi_arg_2`, which the daemon ignores)."""
    sequences: dict[str, list[str]] = {}
    for walk in WALKS:
        result = await fake_call(port, keys=walk.keys, dnid=dnid, uniqueid=f"record-{walk.name}",
                                 caller="+46700000000", extra_headers=walk_headers(walk.name))
        if result.variables.get("IVR_QUEUE") != walk.queue or result.variables.get("IVR_RESULT") != "queue":
            raise RuntimeError(f"walk {walk.name} did not reach {walk.queue}: {result.variables}")
        sequences[walk.name] = result.commands
    return sequences
