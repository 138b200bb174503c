"""The quoting helpers: PowerShell verbatim literals (all five single quotes doubled), POSIX
single quotes, and parameter values as PowerShell literals."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.transports._quote import PS_SINGLE_QUOTES, ps_quote, ps_value, sh_quote
from tests.hostile import HOSTILE, UNICODE_SINGLE_QUOTES


def ps_unquote(text: str) -> str:
    """PowerShell's reading of one verbatim literal that must span all of ``text``.

    As the PowerShell tokenizer does: any of the five single quotes opens and closes the
    literal, and two in a row stand for the second one."""
    assert text[0] in PS_SINGLE_QUOTES, text[:10]
    out, i = [], 1
    while i < len(text):
        c = text[i]
        if c in PS_SINGLE_QUOTES:
            if i + 1 < len(text) and text[i + 1] in PS_SINGLE_QUOTES:
                out.append(text[i + 1])
                i += 2
                continue
            assert i == len(text) - 1, f"the literal ends early, at {i} of {len(text)}"
            return "".join(out)
        out.append(c)
        i += 1
    raise AssertionError("the literal never ends")


def test_ps_quote_doubles_every_single_quote() -> None:
    assert ps_quote("it's") == "'it''s'"
    for q in UNICODE_SINGLE_QUOTES:
        assert ps_quote(f"a{q}b") == f"'a{q}{q}b'"
    assert ps_quote("") == "''"
    assert ps_quote('$(x) "y" `z`') == "'$(x) \"y\" `z`'"


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:20]))
def test_ps_quote_round_trips_the_hostile_corpus(value: str) -> None:
    assert ps_unquote(ps_quote(value)) == value


@settings(max_examples=300)
@given(st.text())
def test_ps_quote_round_trips_any_text(value: str) -> None:
    assert ps_unquote(ps_quote(value)) == value


def test_sh_quote() -> None:
    assert sh_quote("") == "''"
    assert sh_quote("it's") == "'it'\\''s'"
    with pytest.raises(ValueError, match="NUL"):
        sh_quote("a\0b")
    with pytest.raises(TypeError):
        sh_quote(3)  # type: ignore[arg-type]


def test_sh_quote_round_trips_the_hostile_corpus_through_a_real_shell() -> None:
    script = "".join(f"printf '%s\\0' {sh_quote(v)}\n" for v in HOSTILE)
    out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, check=True).stdout
    assert out.split(b"\0")[:-1] == [v.encode() for v in HOSTILE]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\0")),
        min_size=1,
        max_size=5,
    )
)
def test_sh_quote_round_trips_any_text(values: list[str]) -> None:
    script = "printf '%s\\0' " + " ".join(sh_quote(v) for v in values)
    out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, check=True).stdout
    expected = [v.encode() for v in values]
    assert out.split(b"\0")[:-1] == expected


def test_ps_value_renders_every_parameter_type() -> None:
    assert ps_value(None) == "$null"
    assert ps_value(True) == "$true"
    assert ps_value(False) == "$false"
    assert ps_value(3010) == "3010"
    assert ps_value(-1) == "-1"
    assert ps_value(2.5) == "2.5"
    assert ps_value("a'b") == "'a''b'"
    assert ps_value([]) == "@()"
    assert ps_value(["a", 1]) == "@('a', 1)"
    assert ps_value([["a"]]) == "@(,@('a'))"
    assert ps_value({}) == "@{}"
    assert ps_value({"k'": [True, None]}) == "@{ 'k''' = @($true, $null) }"
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            ps_value(bad)
    with pytest.raises(TypeError):
        ps_value({1: "x"})
    with pytest.raises(TypeError):
        ps_value(b"bytes")
    with pytest.raises(TypeError):
        ps_value(object())
