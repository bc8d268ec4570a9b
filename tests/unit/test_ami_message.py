"""AMI framing and action encoding, without sockets."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.ami.errors import AmiProtocolError
from ivr.ami.message import Frame, Framer, encode_action, parse_frame

STREAM = (
    "Asterisk Call Manager/9.0.0\r\n"
    "Response: Success\r\nActionID: a1\r\nMessage: Authentication accepted\r\n\r\n"
    "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
    "Event: Newchannel\nCallerIDName: Zoë Åström\nUniqueid: 1700000000.1\n\n"
    "Response: Success\r\nActionID: a2\r\nMessage: Command output follows\r\n"
    "Output: Name/username\r\nOutput: 1 sip peers\r\n\r\n"
).encode()


def all_frames(framer: Framer, chunks: list[bytes]) -> list[Frame]:
    frames: list[Frame] = []
    for chunk in chunks:
        frames.extend(framer.feed(chunk))
    return frames


def test_frames_banner_crlf_lf_and_repeated_headers() -> None:
    framer = Framer()
    frames = framer.feed(STREAM)
    assert framer.banner == "9.0.0"
    assert [f.headers.get("Event") or f.headers.get("Response") for f in frames] == [
        "Success",
        "FullyBooted",
        "Newchannel",
        "Success",
    ]
    assert frames[2].headers["CallerIDName"] == "Zoë Åström"
    assert frames[3].headers["Output"] == ["Name/username", "1 sip peers"]


def test_utf8_split_across_reads_stays_whole() -> None:
    data = "Event: Newchannel\r\nCallerIDName: Zoë\r\n\r\n".encode()
    cut = data.index("ë".encode()) + 1  # between the two bytes of ë
    frames = all_frames(Framer(), [data[:cut], data[cut:]])
    assert frames[0].headers["CallerIDName"] == "Zoë"


@settings(max_examples=200)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_frames(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    chunks = [STREAM[a:b] for a, b in itertools.pairwise(points)]
    assert all_frames(Framer(), chunks) == Framer().feed(STREAM)


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=200), max_size=6))
def test_arbitrary_bytes_never_raise(chunks: list[bytes]) -> None:
    framer = Framer(max_frame_chars=500)
    with contextlib.suppress(AmiProtocolError):
        all_frames(framer, chunks)


def test_invalid_utf8_is_replaced_not_dropped() -> None:
    frames = Framer().feed(b"Event: X\r\nName: Malm\xf6\r\n\r\n")
    assert frames[0].headers["Name"] == "Malm\ufffd"


def test_frame_size_limit() -> None:
    framer = Framer(max_frame_chars=100)
    with pytest.raises(AmiProtocolError):
        framer.feed(b"Event: X\r\n" + b"Output: " + b"x" * 200 + b"\r\n")
    with pytest.raises(AmiProtocolError):
        Framer(max_frame_chars=100).feed(b"x" * 200)  # one endless line


def test_parse_frame_content_and_empty_values() -> None:
    frame = parse_frame(["Response: Follows", "Privilege: Command", "Key:", "free text line", "--END COMMAND--"])
    assert frame.headers == {"Response": "Follows", "Privilege": "Command", "Key": ""}
    assert frame.content == "free text line\n--END COMMAND--"


def test_encode_action() -> None:
    data = encode_action({"Action": "Originate", "Variable": ["A=1", "B=2"], "Async": "true"})
    assert data == b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\nAsync: true\r\n\r\n"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"Action": "Setvar", "Value": "x\r\nAction: Originate"},
        {"Action": "Setvar", "Value": "x\nAction: Originate"},
        {"Action": "Setvar", "Value": "a\x00"},
        {"Action": "Setvar", "Variable": ["ok", "bad\r\n"]},
        {"Bad Key": "x"},
        {"Key:": "x"},
    ],
)
def test_encode_action_refuses_injection(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        encode_action(fields)
