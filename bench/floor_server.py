"""The floor: the least an asyncio FastAGI server can do for the same calls.

It reads the header block, then sends the command lines the daemon sends for that walk (recorded from
the daemon at the start of the run, chosen by `agi_arg_2`), one at a time, each after the previous
reply, and closes. No parsing of replies, no config, no logs, no events: what is left is asyncio and
the socket, on the same streams API the daemon's server uses.

    python -m bench.floor_server SEQUENCES.json PORT_FILE
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from bench.stats import raise_open_files_limit


class FloorServer:
    def __init__(self, sequences: dict[str, list[str]]) -> None:
        self._sequences = {name: [line.encode() + b"\n" for line in lines] for name, lines in sequences.items()}

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            walk = ""
            while (line := await reader.readline()) not in (b"\n", b""):
                if line.startswith(b"agi_arg_2:"):
                    walk = line[10:].strip().decode()
            for command in self._sequences.get(walk, ()):
                writer.write(command)
                await writer.drain()
                if not await reader.readline():
                    return
        except ConnectionError:
            return
        finally:
            writer.close()


async def run(sequences_path: Path, port_file: Path) -> None:
    # The instruction count (bench/instructions.py) starts the floor while the daemon records the sequences.
    while not sequences_path.exists():
        await asyncio.sleep(0.05)
    floor = FloorServer(json.loads(sequences_path.read_text(encoding="utf-8")))
    server = await asyncio.start_server(floor.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    port_file.write_text(str(port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()


def main(argv: list[str]) -> int:
    raise_open_files_limit()
    asyncio.run(run(Path(argv[1]), Path(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
