"""Two hosts of the test's own on this machine: network namespaces joined by a veth pair.

WebRTC needs them: neither Chromium nor Asterisk offers a loopback ICE candidate, so a browser and
an Asterisk that share only 127.0.0.1 never exchange media (docs/webrtc.md). The namespaces are
named after the sandbox instance (`ivr<N>-pbx` with 10.99.<N>.1, `ivr<N>-web` with 10.99.<N>.2);
nothing outside them gets an address, and `pair()` deletes both, whatever happens inside.

`entered(name)` moves the calling thread (the test's event loop) into a namespace for a while:
sockets made and processes started meanwhile belong to it, and stay there afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Pair:
    pbx: str  # namespace of Asterisk, the daemon and the test's own AMI/HTTP clients
    web: str  # namespace of the browser
    pbx_address: str
    web_address: str


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _delete(*names: str) -> None:
    for name in names:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=20, check=False)


@contextlib.contextmanager
def pair(instance: int) -> Iterator[Pair]:
    net = Pair(pbx=f"ivr{instance}-pbx", web=f"ivr{instance}-web",
               pbx_address=f"10.99.{instance}.1", web_address=f"10.99.{instance}.2")
    _delete(net.pbx, net.web)  # left by a run that was killed
    try:
        _ip("netns", "add", net.pbx)
        _ip("netns", "add", net.web)
        _ip("link", "add", f"ivr{instance}p", "netns", net.pbx, "type", "veth", "peer", "name", f"ivr{instance}w",
            "netns", net.web)
        for ns, dev, address in ((net.pbx, f"ivr{instance}p", net.pbx_address),
                                 (net.web, f"ivr{instance}w", net.web_address)):
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield net
    finally:
        _delete(net.pbx, net.web)  # the veth pair goes with them


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    with open("/proc/thread-self/ns/net", "rb") as home, open(f"/run/netns/{name}", "rb") as target:
        _setns(target.fileno())
        try:
            yield
        finally:
            _setns(home.fileno())
