"""The SIPp harness's own promises (harness/sipp.py): its parser reads SIPp's message log as SIPp
writes it, and its key pcaps press each key as one RFC 4733 event with sequence numbers and
timestamps that never go back, so Asterisk takes a repeated key as a new press."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from harness.sipp import KEY_GAP, KEY_PAUSE, KeyPcaps, sip_messages

pytestmark = pytest.mark.no_asterisk

LOG = (
    "----------------------------------------------- 2026-11-30 10:28:30.349926\n"
    "UDP message sent (514 bytes):\n\n"
    "INVITE sip:4034100@127.0.0.1:5082 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
    "f: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1\r\n"
    "To: <sip:4034100@127.0.0.1:5082>\r\n"
    "Call-ID: 1-2@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
    "Privacy: id\r\n"
    "P-Asserted-Identity: <sip:+46701234567@127.0.0.1>\r\n"
    "Record-Route: <sip:a>\r\nRecord-Route: <sip:b>\r\n"
    "Subject: a folded\r\n  header\r\n"
    "Content-Type: application/sdp\r\nContent-Length: 33\r\n\r\n"
    "v=0\r\nm=audio 6000 RTP/AVP 8 101\r\nx=y\r\n\n"
    "----------------------------------------------- 2026-11-30 10:28:30.350364\n"
    "UDP message received [313] bytes :\n\n"
    "SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n\n"
)


def test_message_log_is_parsed_as_sipp_writes_it(tmp_path: Path) -> None:
    log = tmp_path / "messages.log"
    log.write_text(LOG)
    invite, ok = sip_messages(log)
    assert (invite.direction, invite.method, invite.status, invite.uri) == (
        "sent", "INVITE", None, "sip:4034100@127.0.0.1:5082")
    assert invite.headers.get("from") == '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1'  # compact "f"
    assert invite.headers["PRIVACY"] == "id"
    assert invite.headers.get_all("record-route") == ["<sip:a>", "<sip:b>"]
    assert invite.headers["Subject"] == "a folded header"
    assert invite.body == "v=0\nm=audio 6000 RTP/AVP 8 101\n"  # Content-Length bytes, CRLF counted
    assert invite.sdp_codecs() == ["PCMA", "101"]
    assert (ok.direction, ok.method, ok.status, ok.cseq_method) == ("received", None, 200, "INVITE")
    assert sip_messages(tmp_path / "missing.log") == []


def rtp_packets(path: Path) -> list[tuple[float, int, int, int, bool]]:
    """(time, sequence number, timestamp, event, end bit) of each packet of a pcap."""
    data = path.read_bytes()
    offset, out = 24, []
    while offset < len(data):
        sec, usec, length, _ = struct.unpack("<IIII", data[offset:offset + 16])
        rtp = data[offset + 16 + 42:offset + 16 + length]
        seq, ts = struct.unpack(">HI", rtp[2:8])
        out.append((sec + usec / 1e6, seq, ts, rtp[12], bool(rtp[13] & 0x80)))
        offset += 16 + length
    return out


def test_key_pcaps_never_repeat_an_event(tmp_path: Path) -> None:
    writer = KeyPcaps()
    length = writer.write("11w#", tmp_path / "a.pcap")
    later = writer.write("1", tmp_path / "b.pcap")  # a later group of the same call
    a, b = rtp_packets(tmp_path / "a.pcap"), rtp_packets(tmp_path / "b.pcap")
    events = [(ts, event) for _, _, ts, event, _ in a + b]
    assert [e for _, e in dict.fromkeys(events)] == [1, 1, 11, 1]  # four presses: 1, 1, #, 1
    seqs = [seq for _, seq, _, _, _ in a + b]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    stamps = [ts for ts, _ in dict.fromkeys(events)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    assert sum(end for *_, end in a + b) >= 4  # each press ends (RFC 4733 E bit)
    times = [t for t, *_ in a]
    assert times == sorted(times) and times[0] == 0
    second_one = next(t for t, _, ts, _, _ in a if ts == stamps[1])
    hash_key = next(t for t, _, ts, _, _ in a if ts == stamps[2])
    assert hash_key - second_one >= KEY_PAUSE + KEY_GAP  # the "w" between them
    assert length > hash_key and later > 0
