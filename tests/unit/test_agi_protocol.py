"""Pure AGI wire format: replies, headers, quoting (examples and hypothesis properties)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ivr.agi.errors import AgiProtocolError
from ivr.agi.protocol import (
    MAX_COMMAND_BYTES,
    HeaderParser,
    decode_line,
    format_command,
    parse_headers,
    parse_reply,
    quote_arg,
    sanitize_arg,
)

MAX_ARGS = 128  # res_agi.c


def res_agi_parse_args(line: bytes) -> list[bytes]:
    """A line-by-line transcription of parse_args() in Asterisk's res/res_agi.c."""
    text = line.split(b"\0", 1)[0]
    out = bytearray()
    starts: list[int] = []
    quoted = escaped = False
    whitespace = True

    def normal(ch: int) -> None:
        nonlocal whitespace, escaped
        if whitespace:
            if len(starts) >= MAX_ARGS - 1:
                return  # "Too many arguments, truncating"
            starts.append(len(out))
            whitespace = False
        out.append(ch)
        escaped = False

    for ch in text:
        if ch == ord('"'):
            if escaped:
                normal(ch)
                continue
            quoted = not quoted
            if quoted and whitespace:
                starts.append(len(out))
                whitespace = False
            escaped = False
        elif ch in (ord(" "), ord("\t")):
            if not quoted and not escaped:
                whitespace = True
                out.append(0)
            else:
                normal(ch)
        elif ch == ord("\\"):
            if escaped:
                normal(ch)
            else:
                escaped = True
        else:
            normal(ch)
    out.append(0)
    return [bytes(out[start : out.index(0, start)]) for start in starts]


# --- replies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "code", "result", "data", "extras"),
    [
        ("200 result=1", 200, "1", None, {}),
        ("200 result=2 (timeout)", 200, "2", "timeout", {}),
        ("200 result=1 endpos=1234", 200, "1", None, {"endpos": "1234"}),
        ("200 result=0 (some data)", 200, "0", "some data", {}),
        ("200 result= (timeout)", 200, "", "timeout", {}),
        ("200 result=-1 endpos=0", 200, "-1", None, {"endpos": "0"}),
        ("200 result=1 (digit) digit=5 endpos=8000", 200, "1", "digit", {"digit": "5", "endpos": "8000"}),
        ("200 result=1 (a (b) c)", 200, "1", "a (b) c", {}),
        ("200 result=1 (x) y=1) endpos=3", 200, "1", "x) y=1", {"endpos": "3"}),
        ('200 result=1 (speech) text0="hello world" n=1', 200, "1", "speech", {"text0": "hello world", "n": "1"}),
        ("510 Invalid or unknown command", 510, "", "Invalid or unknown command", {}),
        (
            "511 Command Not Permitted on a dead channel or intercept routine",
            511,
            "",
            "Command Not Permitted on a dead channel or intercept routine",
            {},
        ),
        ("520 Invalid command syntax.  Proper usage not available.", 520, "", None, None),
    ],
)
def test_parse_reply_examples(
    line: str, code: int, result: str, data: str | None, extras: dict[str, str] | None
) -> None:
    reply = parse_reply([line])
    assert (reply.code, reply.result) == (code, result)
    if extras is not None:
        assert reply.data == data
        assert reply.extras == extras
    assert not reply.hangup


def test_parse_reply_multiline_usage_block() -> None:
    reply = parse_reply(
        [
            "520-Invalid command syntax.  Proper usage follows:",
            " Usage: STREAM FILE <filename> <escape digits> [sample offset]",
            "200 result=0",
            "",
            "520 End of proper usage.",
        ]
    )
    assert reply.code == 520
    assert reply.data is not None and "Usage: STREAM FILE" in reply.data
    assert "200 result=0" in reply.data


def test_parse_reply_hangup_notice_before_reply() -> None:
    reply = parse_reply(["HANGUP", "200 result=-1 endpos=0"])
    assert reply.hangup and reply.result_int() == -1


@pytest.mark.parametrize(
    "lines",
    [
        [],
        ["HANGUP"],
        [""],
        ["hello"],
        ["200"],
        ["200 ok"],
        ["200 result=1 (unclosed"],
        ["200 result=1 garbage"],
        ["200 result=1", "200 result=2"],
        ["520-Invalid command syntax.  Proper usage follows:", "no end"],
        ["520-a", "520 b", "520 c"],
    ],
)
def test_parse_reply_rejects(lines: list[str]) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(lines)


def test_result_int_rejects_garbage() -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(["200 result=abc"]).result_int()


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_reply_only_raise_protocol_error(data: bytes) -> None:
    try:
        lines = [decode_line(raw) for raw in data.splitlines()]
        parse_reply(lines).result_int()
    except AgiProtocolError:
        pass


@settings(max_examples=300)
@given(
    st.sampled_from(["200 result=", "200 result=1 (", "520-", "100 result=", "510 ", "HANGUP\n200 "]),
    st.text(max_size=60),
)
def test_near_miss_replies_only_raise_protocol_error(prefix: str, rest: str) -> None:
    try:
        lines = [decode_line(raw) for raw in (prefix + rest).encode("utf-8", "surrogatepass").splitlines()]
        parse_reply(lines).result_int()
    except AgiProtocolError:
        pass


# --- headers ---------------------------------------------------------------------------------

GOOD_HEADERS = (
    b"agi_network: yes\n"
    b"agi_network_script: inbound?lang=sv\n"
    b"agi_request: agi://127.0.0.1/inbound?lang=sv\n"
    b"agi_channel: PJSIP/trunk-00000001\n"
    b"agi_uniqueid: 1700000000.1\n"
    b"agi_callerid: 46701234567\n"
    b"agi_calleridname: Zo\xc3\xab\n"
    b"agi_arg_1: first\n"
    b"agi_arg_2:\n"
    b"\n"
)


def test_parse_headers_good_block() -> None:
    headers = parse_headers(GOOD_HEADERS)
    assert headers["request"] == "agi://127.0.0.1/inbound?lang=sv"
    assert headers["calleridname"] == "Zoë"
    assert headers["arg_2"] == ""
    assert "agi_request" not in headers


def test_parse_headers_tolerates_crlf_and_latin1_names() -> None:
    headers = parse_headers(b"agi_request: agi://x/inbound\r\nagi_calleridname: Malm\xf6\r\n\r\n")
    assert headers["calleridname"] == "Malm\ufffd"


@pytest.mark.parametrize(
    "block",
    [
        b"",
        b"\n",
        b"agi_request: x\n",  # no blank line
        b"agi_request: x\n\nagi_more: y\n",  # data after the block
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"agi_request: x\nagi_request: y\n\n",
        b"agi_x: a\x01b\n\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n",
        b"agi_x: " + b"a" * 5000 + b"\n\n",
        b"".join(b"agi_h%d: v\n" % i for i in range(101)) + b"\n",
        b"".join(b"agi_h%d: %s\n" % (i, b"v" * 4000) for i in range(9)) + b"\n",
    ],
)
def test_parse_headers_rejects(block: bytes) -> None:
    with pytest.raises(AgiProtocolError):
        parse_headers(block)


def test_header_parser_accepts_exactly_100_lines() -> None:
    parser = HeaderParser()
    for i in range(100):
        assert not parser.feed_line(b"agi_h%d: v\n" % i)
    assert parser.feed_line(b"\n")
    assert len(parser.headers) == 100


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_as_headers_only_raise_protocol_error(data: bytes) -> None:
    with contextlib.suppress(AgiProtocolError):
        parse_headers(data)


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_arbitrary_header_lines_only_raise_protocol_error(lines: list[bytes]) -> None:
    with contextlib.suppress(AgiProtocolError):
        parse_headers(b"".join(b"agi_" + line + b"\n" for line in lines) + b"\n")


# --- quoting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("", '""'),
        ("sv", '"sv"'),
        ("a b", '"a b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("x\r\nHANGUP\x00", '"xHANGUP"'),
    ],
)
def test_quote_arg_examples(text: str, quoted: str) -> None:
    assert quote_arg(text) == quoted


def test_injection_attempt_stays_one_argument() -> None:
    evil = 'x" "EXEC" "Dial\nEXEC System rm -rf /\\'
    line = format_command("SET VARIABLE", "IVR_NOTE", evil)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert res_agi_parse_args(line[:-1]) == [b"SET", b"VARIABLE", b"IVR_NOTE", sanitize_arg(evil).encode()]


@settings(max_examples=500)
@given(st.lists(st.text(max_size=40), max_size=6))
def test_quoted_command_round_trips_through_parse_args(args: list[str]) -> None:
    try:
        line = format_command("SET VARIABLE", *args)
    except ValueError:
        assume(False)
        raise
    assert line.endswith(b"\n")
    body = line[:-1]
    assert b"\n" not in body and b"\r" not in body and b"\0" not in body
    assert len(line) <= MAX_COMMAND_BYTES
    expected = [b"SET", b"VARIABLE", *(sanitize_arg(arg).encode("utf-8") for arg in args)]
    assert res_agi_parse_args(body) == expected


@given(st.text(min_size=1, max_size=3000))
def test_format_command_refuses_what_res_agi_would_split(text: str) -> None:
    try:
        line = format_command("SET VARIABLE", "X", text)
    except ValueError:
        return
    assert len(line) <= MAX_COMMAND_BYTES


@pytest.mark.parametrize("name", ["", "SET\nVARIABLE", 'EXEC "x"', "STREAM  FILE", "A1"])
def test_format_command_rejects_bad_names(name: str) -> None:
    with pytest.raises(ValueError):
        format_command(name)


def test_format_command_rejects_too_many_words() -> None:
    with pytest.raises(ValueError):
        format_command("EXEC", *(["x"] * 127))
