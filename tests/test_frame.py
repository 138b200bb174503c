"""The interpreter framing: any bytes survive, other lines are ignored, bad frames are clear."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.transports._frame import (
    FrameError,
    encode_request,
    encode_response,
    new_id,
    parse_request,
    parse_response,
)


@given(st.binary(), st.binary(), st.integers(-(2**31), 2**31 - 1))
def test_any_output_bytes_round_trip_on_one_printable_line(
    out: bytes, err: bytes, code: int
) -> None:
    rid = new_id()
    line = encode_response(rid, code, out, err, b'{"a": 1}').decode("ascii")
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert all(32 <= ord(c) < 127 for c in line[:-1])
    resp = parse_response(line, rid)
    assert resp is not None
    assert resp.exit_code == code and resp.payload == {"a": 1}
    assert resp.stdout == out.decode("utf-8", "replace")
    assert resp.stderr == err.decode("utf-8", "replace")


@given(st.text(), st.floats(min_value=0, max_value=1e6))
def test_any_script_round_trips(script: str, timeout: float) -> None:
    rid = new_id()
    parsed = parse_request(encode_request(rid, script, timeout).decode("ascii"))
    assert parsed == (rid, float(int(max(1, timeout))), script)


def test_lines_that_are_not_the_awaited_response_are_ignored() -> None:
    rid, other = new_id(), new_id()
    assert parse_response("Windows PowerShell banner", rid) is None
    assert parse_response(encode_response(other, 0, b"x", b"").decode(), rid) is None
    look_alike = f"ORCH1-END {rid} 0 - -"  # five fields: not a frame
    assert parse_response(look_alike, rid) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("0 !!! - -", "base64"),
        ("x - - -", "exit code"),
        ("0 - - " + "bm90IGpzb24=", "not JSON"),
    ],
)
def test_malformed_frames_are_clear_errors(fields: str, message: str) -> None:
    rid = new_id()
    with pytest.raises(FrameError, match=message):
        parse_response(f"ORCH1-END {rid} {fields}", rid)


def test_a_non_object_payload_is_wrapped() -> None:
    rid = new_id()
    line = encode_response(rid, 0, b"", b"", json.dumps([1, 2]).encode()).decode()
    resp = parse_response(line, rid)
    assert resp is not None and resp.payload == {"value": [1, 2]}
