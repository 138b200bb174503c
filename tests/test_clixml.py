"""Decoding PowerShell's CLIXML stderr into readable text."""

from __future__ import annotations

from xml.sax.saxutils import escape

import winrm
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.transports._clixml import decode, is_clixml, unescape
from tests.wsman import CLIXML_SAMPLE

NS = 'xmlns="http://schemas.microsoft.com/powershell/2004/04"'


def _doc(*strings: tuple[str, str]) -> str:
    body = "".join(f'<S S="{stream}">{text}</S>' for stream, text in strings)
    return f'<Objs Version="1.1.0.1" {NS}>{body}</Objs>'


def _ps_escape(text: str) -> str:
    """Serialize a string as PowerShell does in CLIXML."""
    out = []
    for ch in text.replace("_x", "_x005F_x"):
        code = ord(ch)
        if code < 0x20 or 0xD800 <= code < 0xE000 or code in (0xFFFE, 0xFFFF):
            out.append(f"_x{code:04X}_")
        elif code > 0xFFFF:
            hi, lo = divmod(code - 0x10000, 0x400)
            out.append(f"_x{0xD800 + hi:04X}__x{0xDC00 + lo:04X}_")
        else:
            out.append(escape(ch))
    return "".join(out)


def test_a_real_error_record_reads_as_powershell_shows_it() -> None:
    text = decode(CLIXML_SAMPLE)
    assert text.splitlines() == [
        "Write-Error : boom",
        "At line:1 char:1",
        "+ Write-Error boom",
        "+ ~~~~~~~~~~~~~~~~",
        "    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException",
        "    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException",
    ]
    assert "Preparing modules" not in text  # progress records are dropped


def test_same_text_as_pywinrm_for_what_pywinrm_handles() -> None:
    ours = decode(CLIXML_SAMPLE)
    theirs = winrm.Session.__new__(winrm.Session)._clean_error_msg(CLIXML_SAMPLE).decode()
    assert ours == theirs


def test_several_documents_and_repeated_markers_are_all_read() -> None:
    first = _doc(("Error", "one_x000D__x000A_"))
    second = _doc(("Error", "two_x000D__x000A_"))
    data = f"#< CLIXML\r\n{first}#< CLIXML\r\n{second}"
    assert decode(data) == "one\ntwo"


def test_warnings_are_prefixed_and_other_streams_dropped() -> None:
    data = "#< CLIXML\r\n" + _doc(
        ("warning", "disk almost full"), ("verbose", "chatter"), ("Error", "bad_x000A_")
    )
    assert decode(data) == "WARNING: disk almost full\nbad"
    assert decode(data, streams=("Error", "verbose")) == "VERBOSE: chatter\nbad"


def test_escapes_for_surrogate_pairs_underscores_and_lone_surrogates() -> None:
    assert unescape("smile _xD83D__xDE00_") == "smile \U0001f600"
    assert unescape("_x005F_x000D_") == "_x000D_"
    assert unescape("tab_x0009_end") == "tab\tend"
    assert unescape("lone _xD83D_ x") == "lone \ufffd x"


def test_text_that_is_not_clixml_is_returned_as_it_is() -> None:
    assert decode("plain error\r\n") == "plain error\r\n"
    assert decode(b"bytes \xff") == "bytes \ufffd"
    assert not is_clixml("error: #< CLIXML")


def test_broken_xml_and_text_around_documents_are_kept() -> None:
    data = "#< CLIXML\r\nbefore\r\n<Objs Version='1'><S S='Error'>unclosed</Objs>\r\nafter"
    text = decode(data)
    assert "before" in text and "unclosed" in text and "after" in text


@given(st.text(min_size=1))
def test_any_string_survives_powershell_serialization(text: str) -> None:
    data = "#< CLIXML\r\n" + _doc(("Error", _ps_escape(text)))
    assert decode(data) == text.replace("\r\n", "\n").rstrip().lstrip("\n")
