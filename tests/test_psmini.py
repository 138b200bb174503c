"""The mini PowerShell interpreter (tests/psmini): its semantics, one test per rule where
PowerShell differs from Python, the emulated .NET statics and cmdlets, and then the real
scripts of orchestrator/patchlevel/_windows_ps.py run against an emulated Windows machine."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.patchlevel import _windows_ps as wps
from orchestrator.transports._winrm_files import (
    get_chunk_script,
    get_stat_script,
    put_chunk_script,
    put_commit_script,
)

from .psmini import (
    DateTime,
    Hashtable,
    HostCrash,
    Interpreter,
    PatchHostRunner,
    PSError,
    Unsupported,
    WindowsHost,
    to_json,
)
from .wsman import InterpreterDied

T0 = 1_700_000_000.0
STOP = "$ErrorActionPreference = 'Stop'\n"
KEY = "HKLM:\\SOFTWARE\\Contoso"
APP = "C:\\App"
NS = 1_000_000_000


@pytest.fixture
def host(tmp_path: Path) -> WindowsHost:
    return WindowsHost(tmp_path / "machine", clock=lambda: T0)


@pytest.fixture
def ps(host: WindowsHost) -> Callable[[str], list[Any]]:
    """Run a script in one interpreter (its global scope kept), returning the output."""
    interp = Interpreter(host)

    def run(script: str) -> list[Any]:
        out: list[Any] = []
        interp.run(script, out)
        return out

    return run


def stop(script: str) -> str:
    """The script after ``$ErrorActionPreference = 'Stop'`` (as PS_PATCH sets it)."""
    return STOP + script


def one(ps: Callable[[str], list[Any]], script: str) -> Any:
    out = ps(script)
    assert len(out) == 1, out
    return out[0]


def write(host: WindowsHost, win: str, data: bytes, mtime_s: int | None = None) -> Path:
    p = host.path(win)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    if mtime_s is not None:
        os.utime(p, ns=(mtime_s * NS, mtime_s * NS))
    return p


# -- 1. the output stream ----------------------------------------------------------------------
def test_every_uncaptured_value_is_output_so_an_extra_value_makes_an_array(ps: Any) -> None:
    out = ps("function F { 'oops'; return 5 }\n$r = F\n$r.Count\n$r[1]")
    assert out == [2, 5]


def test_a_function_value_is_null_one_object_or_an_array(ps: Any) -> None:
    script = """
    function None { $x = 1 }
    function One { return @(7) }
    function Two { 1; 2 }
    function Nested { return ,@(1, 2) }
    $null -eq (None)
    (One) -is [int]
    (Two) -is [object[]]
    (Nested).Count
    @(Nested).Count
    """
    assert ps(script) == [True, True, True, 2, 1]  # the array is one object


def test_void_methods_emit_nothing_and_create_directory_does(ps: Any) -> None:
    script = stop("""
    function V { [IO.File]::AppendAllText('C:\\log.txt', 'x'); [IO.File]::Delete('C:\\no') }
    function D { [IO.Directory]::CreateDirectory('C:\\d\\e') }
    function Quiet { [IO.Directory]::CreateDirectory('C:\\q') | Out-Null; [void](D) }
    $null -eq (V)
    (D).FullName
    $null -eq (Quiet)
    """)
    assert ps(script) == [True, "C:\\d\\e", True]


def test_new_item_and_new_item_property_emit_objects(ps: Any) -> None:
    script = stop(f"""
    function K {{ New-Item -Path '{KEY}' -Force }}
    function P {{ New-ItemProperty -LiteralPath '{KEY}' -Name 'A' -Value 1 -PropertyType DWord }}
    (K).Name
    (P).A
    """)
    assert ps(script) == ["HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso", 1]


def test_assignments_and_increments_emit_nothing(ps: Any) -> None:
    assert ps("$i = 1\n$i++\n$i += 2\n++$i\n($i++)\n$i") == [5, 6]


# -- 2. errors ---------------------------------------------------------------------------------
def test_a_cmdlet_error_under_stop_is_caught_by_try(ps: Any) -> None:
    script = STOP + "try { Remove-Item -LiteralPath 'C:\\nope' } catch { $_.Exception.Message }"
    assert one(ps, script) == "Cannot find path 'C:\\nope' because it does not exist."


def test_error_action_silently_continue_suppresses_the_error(ps: Any, host: WindowsHost) -> None:
    host.reg_set(KEY, "Other", "x")
    cmd = f"Remove-ItemProperty -LiteralPath '{KEY}' -Name 'Gone'"
    assert ps(stop(cmd + " -ErrorAction SilentlyContinue\n'after'")) == ["after"]
    assert ps(stop(cmd + " -ErrorAction Ignore\n'after'")) == ["after"]


def test_a_method_exception_message_and_the_string_of_the_record(ps: Any) -> None:
    script = stop("""
    try { [IO.File]::Copy('C:\\x', 'C:\\y', $true) } catch { $_.Exception.Message; [string]$_ }
    try { throw 'plain' } catch { $_.Exception.Message; [string]$_ }
    """)
    message = 'Exception calling "Copy" with "3" argument(s): "Could not find file \'C:\\x\'."'
    assert ps(script) == [message, message, "plain", "plain"]


def test_without_stop_a_statement_error_is_written_and_the_script_goes_on(
    host: WindowsHost,
) -> None:
    runner = PatchHostRunner(host)
    code, out, err, _ = runner(
        "[IO.File]::Copy('C:\\x', 'C:\\y')\nRemove-Item -LiteralPath 'C:\\z'\n'after'", 30
    )
    assert (code, out) == (0, b"after\r\n")
    assert err.decode().splitlines() == [
        'Exception calling "Copy" with "2" argument(s): "Could not find file \'C:\\x\'."',
        "Remove-Item : Cannot find path 'C:\\z' because it does not exist.",
    ]


def test_an_uncaught_error_ends_the_request_with_exit_1(host: WindowsHost) -> None:
    runner = PatchHostRunner(host)
    assert runner(STOP + "'before'\n[IO.File]::Move('C:\\a', 'C:\\b')\n'after'", 30) == (
        1, b"before\r\n", b"Could not find file 'C:\\a'.\n", b""
    )  # fmt: skip
    assert runner("throw 'stop here'", 30)[:3] == (1, b"", b"stop here\n")
    code, _, err, _ = runner(STOP + "Remove-Item -LiteralPath 'C:\\nope'", 30)
    assert (code, err) == (
        1,
        b"Remove-Item : Cannot find path 'C:\\nope' because it does not exist.\n",
    )


def test_finally_runs_and_a_bare_throw_rethrows(ps: Any) -> None:
    script = stop("""
    $log = @()
    try {
        try { throw 'inner' } catch { $log += 'caught'; throw } finally { $log += 'finally' }
    } catch { $log += [string]$_ }
    $log
    """)
    assert ps(script) == ["caught", "finally", "inner"]


def test_a_function_error_propagates_to_the_callers_try(ps: Any) -> None:
    script = stop("""
    function Inner { [IO.File]::Delete('C:\\missing\\dir\\f'); 'not reached' }
    try { Inner } catch { 'caught: ' + $_.Exception.InnerException.Message }
    """)
    assert one(ps, script) == "caught: Could not find a part of the path 'C:\\missing\\dir\\f'."


def test_silently_continue_hides_statement_errors_and_unknown_actions_are_unsupported(
    host: WindowsHost,
) -> None:
    runner = PatchHostRunner(host)
    script = "$ErrorActionPreference = 'SilentlyContinue'\n[IO.File]::Move('C:\\a', 'C:\\b')\n'on'"
    assert runner(script, 30) == (0, b"on\r\n", b"", b"")
    assert runner("throw 'x'", 30)[0] == 99  # PowerShell would hide even the throw
    assert runner("$ErrorActionPreference = 'Inquire'\n1 / 0", 30)[0] == 99


# -- 3. arrays ---------------------------------------------------------------------------------
def test_plus_equals_appends_elements_and_a_hashtable_is_one_element(ps: Any) -> None:
    script = """
    $a = @()
    $a += @{ 'k' = 1 }
    $a += @(2, 3)
    $a += 4
    $a.Count
    $b = $a
    $a += 5
    $b.Count
    (@(1) + $null).Count
    """
    assert ps(script) == [4, 4, 2]


def test_array_subexpression_and_foreach_over_null_and_scalars(ps: Any) -> None:
    script = """
    $arr = @(1, 2)
    @($arr).Count
    @(@($arr)).Count
    @(5).Count
    $none = $null
    $n = 0; foreach ($x in $none) { $n++ }; $n
    $n = 0; foreach ($x in 'one') { $n++ }; $n
    @(function-less).Count
    """
    with pytest.raises(Unsupported):
        ps(script)
    assert ps(script.replace("@(function-less).Count", "")) == [2, 2, 1, 0, 1]


def test_at_null_holds_one_null_but_an_empty_command_gives_an_empty_array(ps: Any) -> None:
    script = "function Nothing { }\n@($null).Count\n@(Nothing).Count\n$x = Nothing\n@($x).Count"
    assert ps(script) == [1, 0, 1]


def test_count_on_arrays_hashtables_scalars_and_null(ps: Any) -> None:
    assert ps("@(1,2,3).Count\n@{a=1;b=2}.Count\n'abc'.Count\n(7).Count\n$null.Count") == [
        3,
        2,
        1,
        1,
        0,
    ]


def test_indexes_count_from_the_end_and_out_of_range_is_null(ps: Any) -> None:
    script = (
        "$a = @(10, 20, 30)\n$j = 1\n$a[$j - 1]\n$a[-1]\n$null -eq $a[7]\n$a[1] = 21\n$a -join ','"
    )
    assert ps(script) == [10, 30, True, "10,21,30"]
    with pytest.raises(PSError, match="outside the bounds"):
        ps(STOP + "$a = @(1)\n$a[3] = 1")
    with pytest.raises(PSError, match="null array"):
        ps(STOP + "$nothing[0]")


# -- 4. hashtables -----------------------------------------------------------------------------
def test_hashtable_keys_are_case_insensitive_and_ordered(ps: Any) -> None:
    table = one(ps, "$h = @{}\n$h['Zed'] = 1\n$h['alpha'] = 2\n$h['ZED'] = 3\n$h")
    assert isinstance(table, Hashtable)
    assert to_json(table) == '{"Zed":3,"alpha":2}'


def test_hashtable_members(ps: Any) -> None:
    script = """
    $h = @{ 'Name' = 'n'; 'Count' = 'shadowed' }
    $h.name
    $h['NAME']
    $h.ContainsKey('count')
    $null -eq $h['missing']
    $null -eq $h.missing
    $h.Keys.Count
    $g = @{ 'a' = 1 }
    $g.Count
    $n = 'NAME'; $h.$n
    """
    assert ps(script) == ["n", "n", True, True, True, 2, 1, "n"]


def test_changing_a_hashtable_while_enumerating_its_keys_fails(ps: Any) -> None:
    with pytest.raises(PSError, match="Collection was modified"):
        ps(STOP + "$h = @{ 'a' = 1; 'b' = 2 }\nforeach ($k in $h.Keys) { $h[$k] = 0 }")
    assert ps(
        "$h = @{ 'a' = 1; 'b' = 2 }\nforeach ($k in @($h.Keys)) { $h[$k] = 0 }\n$h.a + $h.b"
    ) == [0]


def test_a_hashtable_parameter_is_shared_with_the_caller(ps: Any) -> None:
    script = """
    function Note {
        param([hashtable]$Undo, [string]$Name)
        $Undo['set'] += $Name; $Undo['old'][$Name] = 1
    }
    $u = @{ 'set' = @(); 'old' = @{} }
    Note -Undo $u -Name 'a'
    Note $u 'b'
    $u['set'] -join ','
    $u['old'].Count
    """
    assert ps(script) == ["a,b", 2]


# -- 5. truthiness -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "truth"),
    [
        ("$null", False), ("''", False), ("0", False), ("0.0", False), ("$false", False),
        ("@()", False), ("@(0)", False), ("@('x')", True), ("@(0, 0)", True), ("'False'", True),
        ("' '", True), ("@{}", True), ("@(@())", False), ("@(,@(0))", True),
        ("[DateTime]::UtcNow", True),
    ],
)  # fmt: skip
def test_truthiness(ps: Any, expr: str, truth: bool) -> None:
    assert ps(f"if ({expr}) {{ 'yes' }} else {{ 'no' }}\n[bool]({expr})") == [
        "yes" if truth else "no",
        truth,
    ]


# -- 6. typed parameters and casts -------------------------------------------------------------
def test_typed_parameters_coerce(ps: Any) -> None:
    script = """
    function T {
        param([string]$S, [int]$I, [string[]]$L, [object[]]$O, $Free, [bool]$B)
        $null -eq $S; $S -eq ''; $I; $null -eq $L; $null -eq $O; $null -eq $Free; $B
    }
    T
    function U {
        param([string[]]$L, [object[]]$O, [int]$I)
        $L.Count; $L[0] -is [string]; $O.Count; $I
    }
    U -L 5 -O @{ 'a' = 1 } -I '41'
    """
    assert ps(script) == [False, True, 0, True, True, True, False, 1, True, 1, 41]


def test_parameter_binding_positional_and_prefixes(ps: Any) -> None:
    script = """
    function J {
        param([string]$Root, [string]$Rel = 'default')
        $Root + '|' + $Rel
    }
    J 'a' 'b'
    J -rel 'x' -root 'y'
    J -Ro 'z'
    J ('p' + 'q') -Rel:'r'
    """
    assert ps(script) == ["a|b", "y|x", "z|default", "pq|r"]
    with pytest.raises(Unsupported, match=r"\$args"):
        ps("J -Nope 1")
    with pytest.raises(Unsupported, match=r"\$args"):
        ps("J 1 2 3")


def test_casts_round_half_to_even_and_fail_on_text(ps: Any) -> None:
    assert ps("[int]2.5\n[int]3.5\n[int]'7'\n[int]' 8 '\n[long]'9'\n[double]'1.5'\n[int]$null") == [
        2, 4, 7, 8, 9, 1.5, 0
    ]  # fmt: skip
    message = one(ps, "try { [int]'abc' } catch { $_.Exception.Message }")
    assert message == (
        'Cannot convert value "abc" to type "System.Int32". Error: "Input string was not in a '
        'correct format."'
    )
    bad = one(ps, "function I {\n param([int]$N)\n $N\n}\ntry { I -N 'x' } catch { [string]$_ }")
    assert bad.startswith(
        "Cannot process argument transformation on parameter 'N'. Cannot convert value"
    )
    with pytest.raises(PSError, match="Hashtable"):
        ps(STOP + "function H {\n param([hashtable]$T)\n}\nH -T 'text'")


def test_a_typed_variable_keeps_its_type(ps: Any) -> None:
    assert ps("[int]$n = '5'\n$n = '6'\n$n -is [int]\n$n") == [True, 6]


# -- 7. scopes ---------------------------------------------------------------------------------
def test_functions_read_their_callers_variables_and_assign_locally(ps: Any) -> None:
    script = """
    $x = 'global'
    function Inner { $x; $x = 'inner-local'; $x }
    function Outer { $x = 'outer'; Inner; $x }
    Outer
    $x
    function SetGlobal { $global:G = 'set'; $script:S = 'script' }
    SetGlobal
    $G; $S
    """
    assert ps(script) == ["outer", "inner-local", "outer", "global", "set", "script"]


def test_the_global_scope_lives_on_between_requests(host: WindowsHost) -> None:
    runner = PatchHostRunner(host)
    assert runner("function Kept { 'kept' }\n$global:OrchPayload = @{ 'a' = 1 }\n$v = 3", 30)[3]
    code, out, _, payload = runner("Kept\n$v", 30)
    assert (code, out, payload) == (0, b"kept\r\n3\r\n", b"")


# -- 8. strings and numbers --------------------------------------------------------------------
def test_string_plus_anything_and_number_formatting(ps: Any) -> None:
    script = (
        "'a' + 5\n'a' + 5.0\n'a' + 0.5\n'a' + $null\n'a' + (1/3)\n1 + '2'\n'1' + 2\n'x' + $true"
    )
    assert ps(script) == ["a5", "a5", "a0.5", "a", "a0.333333333333333", 3, "12", "xTrue"]


def test_division_and_arithmetic(ps: Any) -> None:
    ticks = "(1700000000123456789 - 621355968000000000) / 10000000"
    assert ps("7 / 2\n6 / 3\n-7 % 3\n2 * 3\n$null + 1\n" + ticks) == [
        3.5, 2, -1, 6, 1, float(1700000000123456789 - 621355968000000000) / 10000000.0
    ]  # fmt: skip
    with pytest.raises(PSError, match="divide by zero"):
        ps(STOP + "1 / 0")


def test_comparisons_are_case_insensitive_and_convert_the_right_side(ps: Any) -> None:
    script = """
    'ABC' -eq 'abc'; 'ABC' -ceq 'abc'; '1' -eq 1; 1 -eq '1.0'; 'a' -ne 'A'
    $null -eq 0; 0 -eq $null; $null -eq $null; 'b' -gt 'A'; 10 -gt 9; '10' -gt 9
    $true -eq 'false'; @(1, 2, 1) -eq 1; @('a', 'b') -contains 'B'; 'x' -in @('X')
    """
    assert ps(script) == [
        True, False, True, True, False, False, False, True, True, True, False,
        True, 1, 1, True, True,
    ]  # fmt: skip


def test_operators_join_and_format(ps: Any) -> None:
    script = "@(1, 'b', $null) -join '-'\n-join @('a', 'b')\n'{0} {1:x2} {0}' -f 'a', 255\n"
    assert ps(script + "'{{x}}' -f 1") == ["1-b-", "ab", "a ff a", "{x}"]


def test_strings_and_literals(ps: Any) -> None:
    script = (
        "'it''s'\n'a\u2019\u2019b'\n\"plain\"\n0x10\n0xFFFFFFFF\n1kb\n"
        "'line' `\n  + ' joined' # comment\n@'\nhere\n'@"
    )
    assert ps(script) == ["it's", "a\u2019b", "plain", 16, -1, 1024, "line joined", "here"]


def test_string_methods_follow_dotnet(ps: Any) -> None:
    script = """
    'C:\\dir\\\\'.TrimEnd('\\'); 'a/b/c'.Replace('/', '\\'); 'a/b'.Split('/').Count
    'a::b'.Split('::').Count; 'ABC'.ToLowerInvariant(); 'abc'.Substring(1); 'abc'.Length
    """
    assert ps(script) == ["C:\\dir", "a\\b\\c", 2, 3, "abc", "bc", 3]
    message = one(ps, "try { 'abc'.Substring(5) } catch { $_.Exception.Message }")
    assert message.startswith('Exception calling "Substring" with "1" argument(s): "startIndex')


def test_method_on_null_fails(ps: Any) -> None:
    assert one(ps, "try { $nothing.Trim() } catch { [string]$_ }") == (
        "You cannot call a method on a null-valued expression."
    )


def test_loops_break_and_continue_the_innermost_loop(ps: Any) -> None:
    script = """
    $r = @()
    foreach ($a in 1, 2, 3) {
        for ($i = 0; $i -lt 3; $i++) {
            if ($i -eq 1) { continue }; if ($a -eq 2) { break }; $r += "$a"
        }
        if ($a -eq 3) { break }
    }
    """
    with pytest.raises(Unsupported, match="expandable"):
        ps(script)
    assert ps(script.replace('"$a"', "([string]$a + $i)") + "$r -join ','") == ["10,12,30,32"]


# -- Unsupported -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "script",
    [
        "Get-ChildItem C:\\", "1, 2 | Where-Object { $_ }", '"a $b"',
        "[IO.File]::ReadAllBytes('C:\\x')", "try { } catch [IO.IOException] { }",
        "$x = @(1); $x.Name", "$env:PATH", "& 'cmd'", "Test-Path C:\\*.txt", "exit 3",
        "function A { [CmdletBinding()] param() }", "$a, $b = 1, 2",
        "switch (1) { 1 { } }", "'a' -like 'a*'", "'{0:N2}' -f 1.5", "$args",
    ],
)  # fmt: skip
def test_anything_outside_the_subset_is_unsupported(ps: Any, script: str) -> None:
    with pytest.raises(Unsupported):
        ps(script)


def test_the_runner_answers_99_for_unsupported(host: WindowsHost) -> None:
    code, out, err, payload = PatchHostRunner(host)("Get-Date", 30)
    assert (code, out, payload) == (99, b"", b"")
    assert err.startswith(b"psmini: unsupported: command Get-Date (line 1)")


# -- .NET statics ------------------------------------------------------------------------------
def test_file_and_directory_exists(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\d\\f.txt", b"x")
    assert ps("[IO.File]::Exists('C:\\d\\f.txt'); [IO.File]::Exists('C:\\d')\n"
              "[IO.Directory]::Exists('C:\\d'); [System.IO.File]::Exists('c:/d/f.txt')\n"
              "[IO.File]::Exists('C:\\d\\a|b')") == [
        True, False, True, True, False
    ]  # fmt: skip
    with pytest.raises(PSError, match="relative paths are not emulated"):
        ps(STOP + "[IO.File]::Exists('d\\f.txt')")
    with pytest.raises(PSError, match="UNC"):
        ps(STOP + "[IO.File]::Exists('\\\\server\\share\\f')")


def test_copy_keeps_the_mtime_and_refuses_to_overwrite(ps: Any, host: WindowsHost) -> None:
    src = write(host, "C:\\a.txt", b"data", mtime_s=1_600_000_000)
    write(host, "C:\\b.txt", b"old")
    ps(STOP + "[IO.File]::Copy('C:\\a.txt', 'C:\\c.txt', $false)")
    copied = host.path("C:\\c.txt")
    assert copied.read_bytes() == b"data"
    assert copied.stat().st_mtime_ns == src.stat().st_mtime_ns
    errors = ps(
        "try { [IO.File]::Copy('C:\\a.txt', 'C:\\b.txt', $false) }"
        " catch { $_.Exception.InnerException.Message }\n"
        "try { [IO.File]::Copy('C:\\a.txt', 'C:\\no\\b.txt', $true) }"
        " catch { $_.Exception.InnerException.Message }"
    )
    assert errors == [
        "The file 'C:\\b.txt' already exists.",
        "Could not find a part of the path 'C:\\no\\b.txt'.",
    ]
    ps("[IO.File]::Copy('C:\\a.txt', 'C:\\b.txt', $true)")
    assert host.path("C:\\b.txt").read_bytes() == b"data"


def test_delete_move_and_replace(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\a", b"a")
    write(host, "C:\\b", b"b")
    out = ps(
        "[IO.File]::Delete('C:\\missing')\n"
        "try { [IO.File]::Delete('C:\\nodir\\x') }"
        " catch { $_.Exception.InnerException.GetType().FullName }\n"
        "try { [IO.File]::Move('C:\\a', 'C:\\b') } catch { $_.Exception.InnerException.Message }\n"
        "try { [IO.File]::Replace('C:\\a', 'C:\\b', $null) }"
        " catch { $_.Exception.InnerException.Message }\n"
        "$none = [System.Management.Automation.Language.NullString]::Value\n"
        "try { [IO.File]::Replace('C:\\a', 'C:\\none', $none) }"
        " catch { $_.Exception.InnerException.Message }\n"
        "[IO.File]::Replace('C:\\a', 'C:\\b', $none)\n"
        "[IO.File]::Exists('C:\\a')\n"
        "[IO.File]::Move('C:\\b', 'C:\\c')"
    )
    assert out == [
        "System.IO.DirectoryNotFoundException",
        "Cannot create a file when that file already exists.",
        "The path is not of a legal form.",
        "Unable to find the specified file.",
        False,
    ]
    assert host.path("C:\\c").read_bytes() == b"a"


def test_last_write_times_map_to_file_times_exactly(ps: Any, host: WindowsHost) -> None:
    p = write(host, "C:\\f", b"x")
    os.utime(p, ns=(0, 1_234_567_890_123_456_789))
    assert (
        one(ps, "[IO.File]::GetLastWriteTimeUtc('C:\\f').Ticks")
        == 621355968000000000 + 12345678901234567
    )
    ps("$t = New-Object DateTime -ArgumentList 2020, 1, 2, 3, 4, 5, ([DateTimeKind]::Utc)\n"
       "[IO.File]::SetLastWriteTimeUtc('C:\\f', $t.AddSeconds(0.0004))")  # fmt: skip
    assert p.stat().st_mtime_ns == 1577934245 * NS
    ps("[IO.Directory]::SetLastWriteTimeUtc('C:\\', [IO.File]::GetLastWriteTimeUtc('C:\\f'))")
    assert host.path("C:\\").stat().st_mtime_ns == 1577934245 * NS
    out = ps("[IO.File]::GetLastWriteTimeUtc('C:\\none').ToString('s')\n"
             "try { [IO.File]::SetLastWriteTimeUtc('C:\\none', [DateTime]::UtcNow) } "
             "catch { $_.Exception.InnerException.Message }")  # fmt: skip
    assert out == ["1601-01-01T00:00:00", "Could not find file 'C:\\none'."]


def test_append_all_text_writes_utf8_without_bom(ps: Any, host: WindowsHost) -> None:
    ps(
        "[IO.File]::AppendAllText('C:\\l.txt', 'é' + [Environment]::NewLine)\n"
        "[IO.File]::AppendAllText('C:\\l.txt', 'x')"
    )
    assert host.path("C:\\l.txt").read_bytes() == "é\r\nx".encode()
    with pytest.raises(PSError, match=r"Could not find a part of the path 'C:\\no\\l.txt'"):
        ps(STOP + "[IO.File]::AppendAllText('C:\\no\\l.txt', 'x')")


def test_directories(ps: Any, host: WindowsHost) -> None:
    out = ps(
        "$d = [IO.Directory]::CreateDirectory('C:\\a\\b\\c'); $d.FullName\n"
        "[IO.File]::WriteAllText('C:\\a\\b\\c\\f', 'x')\n"
        "try { [IO.Directory]::Delete('C:\\a\\b\\c') }"
        " catch { $_.Exception.InnerException.Message }\n"
        "[IO.File]::Delete('C:\\a\\b\\c\\f'); [IO.Directory]::Delete('C:\\a\\b\\c')\n"
        "[IO.Directory]::Exists('C:\\a\\b\\c')"
    )
    assert out == ["C:\\a\\b\\c", "The directory is not empty.", False]


def test_dates_and_environment(ps: Any) -> None:
    out = ps(
        "[DateTime]::UtcNow.ToString('s') + 'Z'\n"
        "$e = New-Object DateTime -ArgumentList 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)\n"
        "$e.Ticks; [string]$e.Kind; $e.AddSeconds(1.0005).Ticks - $e.Ticks\n"
        "[Environment]::NewLine\n"
        "$e -lt [DateTime]::UtcNow"
    )
    assert out == ["2023-11-14T22:13:20Z", 621355968000000000, "Utc", 10010000, "\r\n", True]
    with pytest.raises(PSError, match="un-representable"):
        ps(STOP + "New-Object DateTime -ArgumentList 2020, 13, 1")


def test_file_info_length(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\f", b"12345")
    assert one(ps, "(New-Object IO.FileInfo -ArgumentList 'C:\\f').Length") == 5
    assert one(
        ps, "try { (New-Object IO.FileInfo -ArgumentList 'C:\\g').Length } catch { [string]$_ }"
    ) == ('Exception getting "Length": "Could not find file \'C:\\g\'."')


def test_file_modes_are_enum_values_and_strings_convert(ps: Any) -> None:
    out = ps(
        "$m = [IO.FileMode]::CreateNew; [string]$m; [int]$m; $m -eq 'createnew'\n"
        "[int][System.IO.FileMode]::Append; [string][IO.FileMode]' openOrCreate '\n"
        "[string][IO.FileMode]4\n"
        "try { [IO.FileMode]'Bogus' } catch { $_.Exception.Message }\n"
        "try { [IO.FileMode]9 } catch { $_.Exception.Message }"
    )
    assert out == [
        "CreateNew", 1, True, 6, "OpenOrCreate", "OpenOrCreate",
        'Cannot convert value "Bogus" to type "System.IO.FileMode". Error: "Unable to match the '
        "identifier name Bogus to a valid enumerator name. Specify one of the following "
        "enumerator names and try again:\r\n"
        'CreateNew, Create, Open, OpenOrCreate, Truncate, Append"',
        'Cannot convert value "9" to type "System.IO.FileMode" due to enumeration values that are '
        "not valid. Specify one of the following enumeration values and try again. The possible "
        'enumeration values are "CreateNew,Create,Open,OpenOrCreate,Truncate,Append".',
    ]  # fmt: skip


def test_open_create_new_holds_the_file_until_disposed(ps: Any, host: WindowsHost) -> None:
    inner = "catch { $_.Exception.InnerException.Message }"
    out = ps(
        "$fs = [IO.File]::Open('C:\\lock', [IO.FileMode]::CreateNew)\n"
        "$fs.Name; $fs.Length\n"
        f"try {{ [IO.File]::Open('C:\\lock', 'CreateNew') }} {inner}\n"
        f"try {{ [IO.File]::Open('C:\\lock', 'Open') }} {inner}\n"
        f"try {{ [IO.File]::ReadAllText('C:\\lock') }} {inner}\n"
        f"try {{ [IO.File]::Delete('C:\\lock') }} {inner}\n"
        "$fs.Dispose(); $fs.Close()\n"
        "try { $fs.Length } catch { $_.Exception.Message }\n"
        "[IO.File]::Delete('C:\\lock'); [IO.File]::Exists('C:\\lock')"
    )
    busy = (
        "The process cannot access the file 'C:\\lock' because it is being used by another process."
    )
    assert out == [
        "C:\\lock",
        0,
        "The file 'C:\\lock' already exists.",
        busy,
        busy,
        busy,
        'Exception getting "Length": "Cannot access a closed file."',
        False,
    ]


def test_open_follows_each_file_mode(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\f", b"data")
    host.path("C:\\d").mkdir()
    inner = "catch { $_.Exception.InnerException.Message }"
    out = ps(
        "$s = [IO.File]::Open('C:\\f', 'Open'); $s.Length; $s.Close()\n"
        "$s = [IO.File]::Open('C:\\f', 'OpenOrCreate'); $s.Length; $s.Close()\n"
        "$s = [IO.File]::Open('C:\\f', 'Append'); $s.Length; $s.Close()\n"
        "[IO.File]::Open('C:\\f', 'Create').Dispose(); [IO.File]::ReadAllText('C:\\f').Length\n"
        "[IO.File]::Open('C:\\new', 'OpenOrCreate').Dispose(); [IO.File]::Exists('C:\\new')\n"
        "[IO.File]::WriteAllText('C:\\new', 'x')\n"
        "[IO.File]::Open('C:\\new', 'Truncate').Dispose()\n"
        "[IO.File]::ReadAllText('C:\\new').Length\n"
        f"try {{ [IO.File]::Open('C:\\g', 'Truncate') }} {inner}\n"
        f"try {{ [IO.File]::Open('C:\\g', 'Open') }} {inner}\n"
        f"try {{ [IO.File]::Open('C:\\no\\g', 'CreateNew') }} {inner}\n"
        f"try {{ [IO.File]::Open('C:\\d', 'OpenOrCreate') }} {inner}\n"
        f"try {{ [IO.File]::Open('', 'Open') }} {inner}\n"
        "try { [IO.File]::Open('C:\\g', 'Bogus') } catch { $_.Exception.GetType().FullName }"
    )
    assert out == [
        4, 4, 4, 0, True, 0,
        "Could not find file 'C:\\g'.",
        "Could not find file 'C:\\g'.",
        "Could not find a part of the path 'C:\\no\\g'.",
        "Access to the path 'C:\\d' is denied.",
        "Empty path name is not legal.\r\nParameter name: path",
        "System.Management.Automation.MethodException",
    ]  # fmt: skip
    with pytest.raises(PSError) as caught:
        ps(STOP + "[IO.File]::Open('C:\\g', 'Bogus')")
    assert caught.value.message.startswith(
        'Cannot convert argument "mode", with value: "Bogus", for "Open" to type '
        '"System.IO.FileMode": "Cannot convert value "Bogus" to type "System.IO.FileMode". '
        'Error: "Unable to match the identifier name Bogus'
    )
    assert not host.path("C:\\g").exists()


def test_read_all_lines_splits_like_read_line(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\t", b"a\r\nb\nc\rd\n")
    write(host, "C:\\blank", b"x\n\n")
    write(host, "C:\\empty", b"")
    write(host, "C:\\bom", b"\xef\xbb\xbfhi")
    write(host, "C:\\u16", "é\r\nz".encode("utf-16"))
    inner = "catch { $_.Exception.InnerException.Message }"
    out = ps(
        "$l = [IO.File]::ReadAllLines('C:\\t'); $l.Count; $l -join '|'\n"
        "$b = [IO.File]::ReadAllLines('C:\\blank'); $b -join '|'; $b.Count\n"
        "[IO.File]::ReadAllLines('C:\\empty').Count\n"
        "[IO.File]::ReadAllLines('C:\\bom'); [IO.File]::ReadAllLines('C:\\u16')\n"
        f"try {{ [IO.File]::ReadAllLines('C:\\none') }} {inner}\n"
        f"try {{ [IO.File]::ReadAllLines('') }} {inner}"
    )
    assert out == [
        4, "a|b|c|d", "x|", 2, 0, "hi", "é", "z",
        "Could not find file 'C:\\none'.", "Empty path name is not legal.",
    ]  # fmt: skip


def test_read_and_write_all_text_are_utf8_without_bom(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\bom", b"\xef\xbb\xbfhi")
    out = ps(
        "[IO.File]::WriteAllText('C:\\w', 'é' + [Environment]::NewLine)\n"
        "[IO.File]::WriteAllText('C:\\w', 'é')\n"
        "[IO.File]::ReadAllText('C:\\w'); [IO.File]::ReadAllText('C:\\bom')\n"
        "try { [IO.File]::WriteAllText('C:\\no\\w', 'x') }"
        " catch { $_.Exception.InnerException.Message }"
    )
    assert out == ["é", "hi", "Could not find a part of the path 'C:\\no\\w'."]
    assert host.path("C:\\w").read_bytes() == b"\xc3\xa9"


def test_directory_listings_give_paths_as_dotnet_combines_them(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\d\\b.txt", b"")
    write(host, "C:\\d\\A.txt", b"")
    host.path("C:\\d\\sub").mkdir()
    host.path("C:\\empty").mkdir()
    inner = "catch { $_.Exception.InnerException.Message }"
    out = ps(
        "[IO.Directory]::GetFiles('C:\\d')\n"
        "[IO.Directory]::GetFileSystemEntries('C:\\d\\')\n"
        "[IO.Directory]::GetFiles('c:/d/sub/..')\n"
        "[IO.Directory]::GetFileSystemEntries('C:\\empty').Count\n"
        "[IO.Directory]::GetFiles('C:\\d\\sub').Length\n"
        f"try {{ [IO.Directory]::GetFiles('C:\\nope') }} {inner}\n"
        f"try {{ [IO.Directory]::GetFileSystemEntries('C:\\d\\A.txt') }} {inner}"
    )
    assert out == [
        "C:\\d\\A.txt", "C:\\d\\b.txt",
        "C:\\d\\A.txt", "C:\\d\\b.txt", "C:\\d\\sub",
        "c:/d/sub/..\\A.txt", "c:/d/sub/..\\b.txt",
        0, 0,
        "Could not find a part of the path 'C:\\nope'.",
        "The directory name is invalid.",
    ]  # fmt: skip


# -- cmdlets -----------------------------------------------------------------------------------
def test_test_path_on_files_and_the_registry(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\d\\f", b"x")
    host.reg_set(KEY + "\\Sub", "V", "1")
    script = f"""
    Test-Path -LiteralPath 'C:\\d\\f'; Test-Path -LiteralPath 'C:\\d\\f' -PathType Container
    Test-Path -LiteralPath 'C:\\d' -PathType Container
    Test-Path -LiteralPath 'C:\\d' -PathType Leaf
    Test-Path -LiteralPath 'C:\\[x]*'; Test-Path -LiteralPath '{KEY}'
    Test-Path -LiteralPath 'hklm:/software/CONTOSO/sub'
    Test-Path -LiteralPath '{KEY}\\Nope'; Test-Path 'C:\\d\\f'
    """
    assert ps(script) == [True, False, True, False, False, True, True, False, True]


def test_get_file_hash(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\f", b"abc")
    h = one(ps, "Get-FileHash -LiteralPath 'C:/f' -Algorithm SHA256")
    assert (h.props["Hash"], h.props["Path"]) == (
        hashlib.sha256(b"abc").hexdigest().upper(),
        "C:\\f",
    )
    assert one(
        ps, "(Get-FileHash -LiteralPath 'C:\\f' -Algorithm SHA256).Hash.ToLowerInvariant()"
    ) == (hashlib.sha256(b"abc").hexdigest())
    with pytest.raises(PSError, match="Cannot find path 'C:\\\\g' because it does not exist"):
        ps(STOP + "Get-FileHash -LiteralPath 'C:\\g'")
    host.unreadable("C:\\f")
    message = one(
        ps, STOP + "try { Get-FileHash -LiteralPath 'C:\\f' } catch { $_.Exception.Message }"
    )
    assert (
        "The process cannot access the file 'C:\\f' because it is being used by another process."
        in message
    )


def test_remove_item_files_folders_and_keys(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\d\\e\\f", b"x")
    write(host, "C:\\g", b"x")
    host.reg_set(KEY + "\\Sub", "V", "1")
    ps(
        stop(f"""
    Remove-Item -LiteralPath 'C:\\g'
    Remove-Item -LiteralPath 'C:\\d' -Recurse -Force
    Remove-Item -LiteralPath '{KEY}' -Recurse -Force
    """)
    )
    assert not host.path("C:\\g").exists() and not host.path("C:\\d").exists()
    assert host.reg_values(KEY) is None and host.reg_values("HKLM:\\SOFTWARE") == {}
    assert ps("Remove-Item -LiteralPath 'C:\\nope' -ErrorAction SilentlyContinue\n'ok'") == ["ok"]


def test_get_service(ps: Any, host: WindowsHost) -> None:
    host.add_service("W3SVC", "World Wide Web Publishing Service", "StopPending")
    host.add_service("ALG", "Application Layer Gateway Service", "Stopped")
    script = "$s = @(Get-Service)\n$s.Count\n$s[0].Name\n[string]$s[1].Status\n"
    script += "$s[1].Status -eq 'stoppending'"
    assert ps(script) == [2, "ALG", "StopPending", True]


def test_registry_cmdlets(ps: Any, host: WindowsHost) -> None:
    script = stop(f"""
    $k = '{KEY}\\A\\B'
    New-Item -Path $k -Force | Out-Null
    New-ItemProperty -LiteralPath $k -Name 'Level' -Value -1 -PropertyType DWord -Force | Out-Null
    New-ItemProperty -LiteralPath $k -Name 'Name' -Value 5 -PropertyType String | Out-Null
    $p = Get-ItemProperty -LiteralPath '{KEY}\\a\\b'
    $p.Level; $p.Name; $null -eq $p.Missing; $p.PSProvider
    try {{ New-ItemProperty -LiteralPath $k -Name 'name' -Value 1 -PropertyType String }}
    catch {{ $_.Exception.Message }}
    Remove-ItemProperty -LiteralPath $k -Name 'Name'
    try {{ Remove-ItemProperty -LiteralPath $k -Name 'Name' }} catch {{ $_.Exception.Message }}
    """)
    assert ps(script) == [
        -1, "5", True, "Microsoft.PowerShell.Core\\Registry", "The property already exists.",
        "Property Name does not exist at path HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso\\A\\B.",
    ]  # fmt: skip
    assert host.reg_values(KEY + "\\A\\B") == {"Level": ("DWord", 4294967295)}
    with pytest.raises(PSError, match="Cannot find path"):
        ps(STOP + f"Get-ItemProperty -LiteralPath '{KEY}\\Nope'")


def test_fault_injection_and_the_call_record(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\a", b"a")
    host.fail("Copy", "C:\\a", times=2, message="Disk full.")
    host.fail("New-Item", "Contoso")
    out = ps(
        STOP + "foreach ($i in 1, 2, 3) { try { [IO.File]::Copy('C:\\a', 'C:\\b' + $i) ; 'ok' } "
        "catch { $_.Exception.InnerException.Message } }\n"
        f"try {{ New-Item -Path '{KEY}' -Force }} catch {{ $_.Exception.Message }}"
    )
    assert out == ["Disk full.", "Disk full.", "ok", "Access to the path is denied."]
    assert ("Copy", "C:\\a") in host.calls and ("New-Item", KEY) in host.calls


def test_dword_values_follow_the_registry_provider(ps: Any, host: WindowsHost) -> None:
    host.reg_set(KEY, "X", "x")
    script = stop(f"""
    function Put($v) {{
        try {{
            New-ItemProperty -LiteralPath '{KEY}' -Name 'D' -Value $v -PropertyType DWord -Force |
                Out-Null
            (Get-ItemProperty -LiteralPath '{KEY}').D
        }}
        catch {{ $_.Exception.Message }}
    }}
    Put '7'; Put 2.5; Put $null; Put -2147483648; Put 4294967295; Put 'abc'
    """)
    out = ps(script)
    assert out[:4] == [7, 2, 0, -2147483648]
    assert out[4].startswith("The type of the value object did not match")
    assert out[5] == (
        'Cannot convert value "abc" to type "System.UInt32". Error: "Input string was not in a '
        'correct format."'
    )


def test_cmdlet_parameters_must_be_emulated_and_spelled_out(ps: Any) -> None:
    with pytest.raises(Unsupported, match="-Lit"):
        ps("Test-Path -Lit 'C:\\x'")
    with pytest.raises(Unsupported, match="-Filter"):
        ps("Remove-Item -LiteralPath 'C:\\x' -Filter '*.txt'")
    with pytest.raises(Unsupported, match="surplus"):
        ps("Test-Path 'C:\\x' 'C:\\y'")


def test_the_runner_routes_library_verbs_and_records_requests(host: WindowsHost) -> None:
    seen: list[str] = []

    def fallback(script: str, timeout: float) -> tuple[int, bytes, bytes, bytes]:
        seen.append(script)
        return 0, b"verb", b"", b"{}"

    runner = PatchHostRunner(host, fallback=fallback)
    assert runner("# orchestrator verb library\nfunction Invoke-OrchVerb { }", 30) == (
        0,
        b"",
        b"",
        b"",
    )
    assert runner("Invoke-OrchVerb -Kind 'x'", 30) == (0, b"verb", b"", b"{}")
    assert runner("'plain'", 30) == (0, b"plain\r\n", b"", b"")
    assert (runner.requests, runner.libraries, len(runner.scripts), seen) == (
        3, 1, 3, ["Invoke-OrchVerb -Kind 'x'"]
    )  # fmt: skip


def test_a_request_past_its_time_is_stopped(host: WindowsHost) -> None:
    code, _, err, _ = PatchHostRunner(host)("while ($true) { }", 0.05)
    assert code == 124 and b"timed out" in err


def test_payload_json_follows_convertto_json(host: WindowsHost) -> None:
    runner = PatchHostRunner(host)
    deep = "@{ 'a' = " * 10 + "1" + " }" * 10
    script = f"$global:OrchPayload = @{{ 'n' = 5.0; 'k' = [DateTimeKind]::Utc; 'deep' = {deep} }}"
    doc = json.loads(runner(script, 30)[3])
    assert doc["n"] == 5 and doc["k"] == 1
    level = doc["deep"]
    for _ in range(7):
        level = level["a"]
    assert level == {"a": "System.Collections.Hashtable"}
    code, _, err, payload = runner("$global:OrchPayload = @{ 1 = 'int key' }", 30)
    assert (code, payload) == (0, b"")
    assert err.startswith(b"orchestrator: $OrchPayload is not serialisable: The type")


# -- processes and crashes ---------------------------------------------------------------------
def test_pid_is_the_interpreter_process_and_read_only(ps: Any, host: WindowsHost) -> None:
    out = ps(
        "$PID; $PID -is [int]; function F { $PID; $local:PID }; F; $global:PID\n"
        "try { $PID = 1 } catch { $_.Exception.Message }\n"
        "function G { $pid = 2 }; try { G } catch { $_.Exception.Message }"
    )
    message = "Cannot overwrite variable PID because it is read-only or constant."
    assert out == [4242, True, 4242, 4242, 4242, message, message]
    host.pid = 5000
    assert ps("$PID") == [5000]


def test_get_process_by_id(ps: Any, host: WindowsHost) -> None:
    host.live_pids.add(77)
    out = ps(
        "$p = Get-Process -Id $PID; $p.Id; $p.ProcessName; [string]$p; $p.HasExited\n"
        "(Get-Process -Id '77').ProcessName\n"
        "$none = Get-Process -Id 78 -ErrorAction SilentlyContinue; $null -eq $none\n"
        "try { Get-Process -Id 78 -ErrorAction Stop }"
        " catch { $_.Exception.Message; $_.Exception.GetType().FullName }\n"
        "$gone = Get-Process -Id 77"
    )
    assert out == [
        4242, "powershell", "System.Diagnostics.Process (powershell)", False, "process", True,
        "Cannot find a process with the process identifier 78.",
        "Microsoft.PowerShell.Commands.ProcessCommandException",
    ]  # fmt: skip
    host.live_pids.discard(77)
    assert ps("$gone.HasExited; $gone.Id") == [True, 77]
    with pytest.raises(PSError, match=r"Cannot bind parameter 'Id'\. Cannot convert value \"x\""):
        ps(STOP + "Get-Process -Id 'x'")
    with pytest.raises(PSError, match="because it is null"):
        ps(STOP + "Get-Process -Id $null")
    for script in ("Get-Process", "Get-Process -Name x", "Get-Process 5", "Get-Process -Id 1, 2"):
        with pytest.raises(Unsupported):
            ps(script)


def test_get_process_errors_are_non_terminating(host: WindowsHost) -> None:
    code, out, err, _ = PatchHostRunner(host)("Get-Process -Id 9\n'after'", 30)
    assert (code, out) == (0, b"after\r\n")
    assert err == b"Get-Process : Cannot find a process with the process identifier 9.\n"


def test_get_process_by_id_throws_when_not_running(ps: Any) -> None:
    out = ps(
        "[System.Diagnostics.Process]::GetProcessById($PID).ProcessName\n"
        "try { [Diagnostics.Process]::GetProcessById(78) } catch { $_.Exception.Message }\n"
        "try { [Diagnostics.Process]::GetProcessById('x') } catch { $_.Exception.Message }"
    )
    assert out == [
        "powershell",
        'Exception calling "GetProcessById" with "1" argument(s): '
        '"Process with an Id of 78 is not running."',
        'Cannot convert argument "processId", with value: "x", for "GetProcessById" to type '
        '"System.Int32": "Cannot convert value "x" to type "System.Int32". Error: "Input string '
        'was not in a correct format.""',
    ]


CALLS = [
    ("Open", "C:\\d", "[IO.File]::Open('C:\\d\\f', 'OpenOrCreate').Dispose()"),
    ("ReadAllText", "C:\\d", "[IO.File]::ReadAllText('C:\\d\\f')"),
    ("WriteAllText", "C:\\d", "[IO.File]::WriteAllText('C:\\d\\f', 'x')"),
    ("ReadAllLines", "C:\\d", "[IO.File]::ReadAllLines('C:\\d\\f')"),
    ("GetFiles", "C:\\d", "[IO.Directory]::GetFiles('C:\\d')"),
    ("GetFileSystemEntries", "C:\\d", "[IO.Directory]::GetFileSystemEntries('C:\\d')"),
    ("Get-Process", "4242", "Get-Process -Id $PID"),
    ("GetProcessById", "4242", "[Diagnostics.Process]::GetProcessById($PID)"),
]


@pytest.mark.parametrize(("method", "where", "call"), CALLS)
def test_fail_and_crash_match_the_new_methods(
    ps: Any, host: WindowsHost, method: str, where: str, call: str
) -> None:
    write(host, "C:\\d\\f", b"x")
    host.fail(method, where, message="Disk full.")
    catch = (
        "catch { if ($_.Exception.InnerException) { $_.Exception.InnerException.Message }"
        " else { $_.Exception.Message } }"
    )
    assert ps(STOP + f"try {{ {call} | Out-Null; 'ok' }} {catch}") == ["Disk full."]
    host.crash(method, where)
    with pytest.raises(HostCrash):
        ps(STOP + f"try {{ {call} }} {catch}")
    assert host.crashes == [(method, "C:\\d\\f" if "'C:\\d\\f'" in call else where)]
    assert ps(STOP + f"{call} | Out-Null; 'ok'") == ["ok"]


def test_a_crash_runs_no_catch_and_no_finally(ps: Any, host: WindowsHost) -> None:
    write(host, "C:\\a", b"a")
    host.crash("Copy", "C:\\a", skip=1)
    script = stop("""
    function Step {
        try {
            [IO.File]::AppendAllText('C:\\log', 'try;')
            [IO.File]::Copy('C:\\a', 'C:\\b', $true)
        }
        catch { [IO.File]::AppendAllText('C:\\log', 'catch;') }
        finally { [IO.File]::AppendAllText('C:\\log', 'finally;') }
    }
    try { Step } finally { [IO.File]::AppendAllText('C:\\log', 'outer;') }
    """)
    ps(script)
    with pytest.raises(HostCrash) as caught:
        ps(script)
    assert not isinstance(caught.value, Exception)
    assert host.path("C:\\log").read_bytes() == b"try;finally;outer;try;"
    assert host.crashes == [("Copy", "C:\\a")]
    ps(script)
    assert host.path("C:\\log").read_bytes().endswith(b"try;try;finally;outer;")


def test_the_runner_turns_a_crash_into_the_death_of_the_interpreter(host: WindowsHost) -> None:
    runner = PatchHostRunner(host)
    host.live_pids.add(4243)  # taken: the next interpreter gets 4244
    assert runner("$global:kept = 'x'\nfunction Keep { 1 }\n"
                  "$global:fs = [IO.File]::Open('C:\\lock', 'CreateNew')", 30)[0] == 0  # fmt: skip
    host.crash("WriteAllText", "C:\\lock")
    with pytest.raises(InterpreterDied) as died:
        runner("[IO.File]::WriteAllText('C:\\lock', [string]$PID)", 30)
    assert (died.value.exit_code, died.value.stdout, died.value.stderr) == (137, b"", b"")
    assert (host.pid, host.live_pids, host.crashes) == (
        4244, {4243, 4244}, [("WriteAllText", "C:\\lock")]
    )  # fmt: skip
    script = "$null -eq $global:kept; $PID; [IO.File]::ReadAllText('C:\\lock').Length"
    assert runner(script, 30) == (0, b"True\r\n4244\r\n0\r\n", b"", b"")  # the handle is gone
    assert runner("Keep", 30)[0] == 99  # so is the function


def test_a_crash_over_winrm_reruns_the_step_in_a_fresh_interpreter(host: WindowsHost) -> None:
    """The transport sees the interpreter exit without answering and sends the same request to
    a fresh interpreter command: the host runs the step a second time, as a new process."""
    from orchestrator.transports._winrm import WinRMTransport

    from .wsman import InterpreterEmulator, WSManServer

    write(host, "C:\\a", b"a")
    host.crash("Copy", "C:\\a")
    runner = PatchHostRunner(host)
    emulator = InterpreterEmulator(runner)
    step = stop("""
    [IO.File]::AppendAllText('C:\\log', [string]$PID + ';')
    try { [IO.File]::Copy('C:\\a', 'C:\\b', $true) }
    finally { [IO.File]::AppendAllText('C:\\log', 'finally;') }
    'copied by ' + $PID
    """)
    with WSManServer(emulator, user="orch", password="pw") as server:
        transport = WinRMTransport(
            "win1", "127.0.0.1", port=server.port, scheme="http", user="orch", password="pw",
            transport="basic", allow_unencrypted=True,
        )  # fmt: skip
        try:
            result = transport.run(step, timeout=30)
            after = transport.run("$PID", timeout=30)
        finally:
            transport.close()
        commands = server.counts["Command"]
    assert (result.exit_code, result.stdout.strip()) == (0, "copied by 4243")
    assert host.path("C:\\log").read_bytes() == b"4242;4243;finally;"
    assert host.path("C:\\b").read_bytes() == b"a"
    assert (runner.scripts.count(step), host.crashes) == (2, [("Copy", "C:\\a")])
    assert (transport.fallbacks, transport.interpreter_starts, commands) == (1, 2, 3)
    first, again, _ = emulator.sessions
    assert again.requests == first.requests  # the same request id, sent again
    assert after.stdout.strip() == "4243" and host.live_pids == {4243}


# -- the transport's file copies ---------------------------------------------------------------
def test_file_transfer_scripts_use_the_hosts_files(host: WindowsHost) -> None:
    runner = PatchHostRunner(host)
    data = os.urandom(1000)
    target = "C:\\in\\it's\u2019 here.bin"
    host.path("C:\\in").mkdir()
    assert runner(put_chunk_script(target + ".orchpart", data[:600], first=True), 30)[0] == 0
    assert runner(put_chunk_script(target + ".orchpart", data[600:], first=False), 30)[0] == 0
    digest = hashlib.sha256(data).hexdigest()
    answer = runner(put_commit_script(target + ".orchpart", target, 1000, digest), 30)
    assert answer == (0, f"1000 {digest}\r\n".encode(), b"", b"")
    assert host.path(target).read_bytes() == data
    assert sorted(p.name for p in host.path("C:\\in").iterdir()) == ["it's\u2019 here.bin"]
    assert runner(get_stat_script(target), 30)[1] == f"1000 {digest}\r\n".encode()
    chunk = runner(get_chunk_script(target, 100, 200), 30)[1]
    assert b"\r\n" in chunk and len(chunk.split(b"\r\n")[0]) == 76
    import base64

    assert base64.b64decode(b"".join(chunk.split())) == data[100:300]
    assert runner(get_stat_script("C:\\none"), 30)[:3] == (
        1,
        b"",
        b"Could not find file 'C:\\none'.\n",
    )


# -- the renderers of orchestrator/patchlevel/_windows_ps.py -----------------------------------
def _payload(answer: tuple[int, bytes, bytes, bytes]) -> Any:
    code, _, err, payload = answer
    assert code in (0, 1, 2), err
    return json.loads(payload)


def test_state_script(host: WindowsHost) -> None:
    runner = PatchHostRunner(host)
    empty = {"root": False, "values": {}, "key": False}
    assert _payload(runner(wps.state_script(APP, KEY), 30)) == empty
    host.path(APP).mkdir()
    host.reg_set(KEY, "PatchLevel", 3, "DWord")
    host.reg_set(KEY, "Product", "Contoso Server")
    host.reg_set(KEY, "Other", "ignored")
    answer = runner(wps.state_script(APP, KEY), 30)
    assert answer[:3] == (0, b"", b"")
    assert _payload(answer) == {
        "root": True,
        "values": {"PatchLevel": "3", "Product": "Contoso Server"},
        "key": True,
    }


def test_facts_script(host: WindowsHost) -> None:
    runner = PatchHostRunner(host)
    weird = "it's $(Get-Date) `n; [x] a\u2019b\u201a.txt"
    a = write(host, APP + "\\bin\\a.dll", b"dll bytes")
    os.utime(a, ns=(0, 1_600_000_000_123_456_789))
    b = write(host, APP + "\\" + weird, b"w", mtime_s=1_500_000_000)
    write(host, APP + "\\locked.cfg", b"x")
    host.unreadable(APP + "\\locked.cfg")
    answer = runner(wps.facts_script(APP, ["bin/a.dll", weird, "missing.txt", "locked.cfg"]), 30)
    assert answer[:3] == (0, b"", b"")
    files = _payload(answer)["files"]
    sha, size, mtime = files["bin/a.dll"]
    assert (sha, size) == (hashlib.sha256(b"dll bytes").hexdigest(), 9)
    ticks = a.stat().st_mtime_ns // 100
    assert mtime == float(ticks) / 10_000_000.0
    assert mtime == pytest.approx(a.stat().st_mtime, abs=1e-6)
    assert files[weird] == [hashlib.sha256(b"w").hexdigest(), 1, 1_500_000_000]
    assert b.stat().st_mtime == 1_500_000_000
    assert files["missing.txt"] is None
    status, why = files["locked.cfg"]
    assert status == "unreadable"
    assert (
        "The process cannot access the file 'C:\\App\\locked.cfg' because it is being used" in why
    )


def test_services_script(host: WindowsHost) -> None:
    runner = PatchHostRunner(host)
    host.add_service("W3SVC", "World Wide Web Publishing Service", "Running")
    host.add_service("MSSQLSERVER", "SQL Server (MSSQLSERVER)", "StopPending")
    host.add_service("Spooler", "Print Spooler", "Stopped")
    names = ["w3svc", "SQL Server (MSSQLSERVER)", "Print Spooler", "W3*", "Nope"]
    assert _payload(runner(wps.services_script(names), 30)) == {
        "running": ["w3svc (Running)", "SQL Server (MSSQLSERVER) (StopPending)"]
    }
    assert _payload(runner(wps.services_script([]), 30)) == {"running": []}


def test_log_script(host: WindowsHost) -> None:
    runner = PatchHostRunner(host)
    host.path(APP).mkdir()
    assert runner(wps.log_script(APP, ["first", "sécond"]), 30) == (0, b"", b"", b"")
    runner(wps.log_script(APP + "\\", ["third"]), 30)
    assert host.path(APP + "\\install.log").read_bytes() == "first\r\nsécond\r\nthird\r\n".encode()


# -- the upgrade -------------------------------------------------------------------------------
OLD, NEW = 1_500_000_000, 1_650_000_000


def _tree(host: WindowsHost) -> dict[str, Any]:
    """Every file and folder under C:\\App except install.log: content and mtime."""
    root = host.path(APP)
    out: dict[str, Any] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel != "install.log":
            out[rel] = (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
    return out


def _upgrade_setup(host: WindowsHost) -> tuple[PatchHostRunner, str]:
    write(host, APP + "\\install.log", b"")
    write(host, APP + "\\bin\\a.dll", b"old a", OLD)
    write(host, APP + "\\bin\\b.dll", b"old b", OLD)
    write(host, APP + "\\gone.txt", b"bye", OLD)
    write(host, "C:\\Stage\\0", b"new a")
    write(host, "C:\\Stage\\1", b"new b")
    write(host, "C:\\Stage\\2", b"new c")
    for folder in (APP + "\\bin", APP):
        os.utime(host.path(folder), ns=(OLD * NS, OLD * NS))
    host.reg_set(KEY, "PatchLevel", 3, "DWord")
    host.reg_set(KEY, "Product", "Contoso")
    host.reg_set(KEY, "Vendor", "keep me")
    ops = [
        {"k": 0, "kind": "write", "path": "bin/a.dll", "level": 4, "what": None, "mtime": NEW},
        {
            "k": 1,
            "kind": "write",
            "path": "bin/b.dll",
            "level": 4,
            "what": "(v2)",
            "mtime": NEW + 1,
        },
        {
            "k": 2,
            "kind": "write",
            "path": "lib/new/c.dll",
            "level": 4,
            "what": None,
            "mtime": NEW + 2,
        },
        {"k": 3, "kind": "remove", "path": "gone.txt", "level": 4, "what": None, "mtime": 0},
    ]
    values = {"PatchLevel": 4, "Product": "Contoso", "Release": "1.0", "Updated": "today"}
    lock = "C:\\upgrade.lock"
    script = wps.upgrade_script(
        APP, "C:\\Stage", "C:\\Backup\\1", ops, KEY, values, ["pre"], 3, lock, "1"
    )
    return PatchHostRunner(host), script


def test_upgrade_replaces_adds_removes_and_records_the_level(host: WindowsHost) -> None:
    runner, script = _upgrade_setup(host)
    code, out, err, payload = runner(script, 60)
    assert (code, out, err) == (0, b"", b"")
    assert json.loads(payload) == {
        "ok": True, "rolled_back": True, "error": "", "done": ["R 0", "R 1", "A 2", "X 3"]
    }  # fmt: skip
    tree = _tree(host)
    assert tree["bin/a.dll"] == (b"new a", NEW * NS)
    assert tree["bin/b.dll"] == (b"new b", (NEW + 1) * NS)
    assert tree["lib/new/c.dll"] == (b"new c", (NEW + 2) * NS)
    assert "gone.txt" not in tree and not any(k.endswith(".orch-new") for k in tree)
    assert host.reg_values(KEY) == {
        "PatchLevel": ("DWord", 4), "Product": ("String", "Contoso"),
        "Vendor": ("String", "keep me"), "Release": ("String", "1.0"),
        "Updated": ("String", "today"),
    }  # fmt: skip
    assert not host.path("C:\\Stage").exists()
    assert host.path("C:\\Backup\\1\\files\\0").read_bytes() == b"old a"
    log = host.path(APP + "\\install.log").read_text().splitlines()
    assert (
        log[0] == "pre" and log[1] == "2023-11-14T22:13:20Z backup of replaced files: C:\\Backup\\1"
    )
    assert log[-1] == "2023-11-14T22:13:20Z level 4: removed gone.txt"
    assert "level 4: replaced bin/b.dll (v2)" in log[3]


def _assert_rolled_back(host: WindowsHost, before: dict[str, Any], registry: Any) -> None:
    assert _tree(host) == before
    assert host.reg_values(KEY) == registry
    assert not host.path("C:\\Stage").exists()


@pytest.mark.parametrize(
    ("method", "where", "skip"),
    [("Replace", "b.dll", 0), ("New-ItemProperty", "Contoso", 2),
     ("SetLastWriteTimeUtc", "b.dll", 1), ("Move", "c.dll", 0), ("Delete", "gone.txt", 0),
     ("CreateDirectory", "new", 0)],
)  # fmt: skip
def test_a_failure_anywhere_rolls_everything_back(
    host: WindowsHost, method: str, where: str, skip: int
) -> None:
    runner, script = _upgrade_setup(host)
    before, registry = _tree(host), host.reg_values(KEY)
    host.fail(method, where, message="Access to the path is denied.", skip=skip)
    code, _, err, payload = runner(script, 60)
    result = json.loads(payload)
    assert (code, err, result["ok"], result["rolled_back"]) == (1, b"", False, True), result
    assert "Access to the path is denied." in result["error"]
    _assert_rolled_back(host, before, registry)
    log = host.path(APP + "\\install.log").read_text().splitlines()
    assert "rolling back to patch level 3" in log[-2]
    assert log[-1].endswith("rolled back: every file restored; patch level 3 kept")


def test_a_failure_on_a_new_key_removes_it(host: WindowsHost) -> None:
    runner, script = _upgrade_setup(host)
    host.registry.delete(KEY)
    host.fail("New-ItemProperty", "Contoso", skip=1)
    code, _, _, payload = runner(script, 60)
    assert (code, json.loads(payload)["rolled_back"]) == (1, True)
    assert host.reg_values(KEY) is None


def test_a_failed_rollback_answers_exit_2_and_keeps_the_backups(host: WindowsHost) -> None:
    runner, script = _upgrade_setup(host)
    host.fail("Replace", "b.dll.orch-new")
    host.fail("Replace", "a.dll.orch-restore")
    code, _, _, payload = runner(script, 60)
    result = json.loads(payload)
    assert (code, result["ok"], result["rolled_back"]) == (2, False, False)
    assert host.path("C:\\Backup\\1\\files\\0").read_bytes() == b"old a"
    assert (
        host.path(APP + "\\install.log")
        .read_text()
        .splitlines()[-1]
        .endswith("rollback failed: backups kept in C:\\Backup\\1")
    )


def test_the_patch_functions_emit_nothing_by_accident(host: WindowsHost) -> None:
    """Every helper of PS_PATCH returns exactly what its caller expects (no stray output)."""
    runner = PatchHostRunner(host)
    host.path(APP).mkdir()
    script = (
        wps.PS_PATCH
        + f"""
    $u = @{{ 'created' = $false; 'old' = @{{}}; 'set' = @() }}
    $r = @(Set-OrchPatchRegistry -Key '{KEY}' -Values @{{ 'PatchLevel' = 1 }} -Undo $u)
    $global:OrchPayload = @{{ 'set' = $r.Count; 'join' = @(Join-OrchPatchPath 'C:\\a\\' 'b/c');
        'log' = @(Write-OrchPatchLog -Root '{APP}' -Message 'm').Count;
        'undo' = @(Undo-OrchPatchFiles -Done @() -Backup 'C:\\b') }}
    """
    )
    code, out, err, payload = runner(script, 30)
    assert (code, out, err) == (0, b"", b"")
    assert json.loads(payload) == {"set": 0, "join": ["C:\\a\\b\\c"], "log": 0, "undo": [True]}


def test_the_runner_behind_the_wsman_server(host: WindowsHost) -> None:
    """The interpreter answers the real WinRM transport and the Windows patch-level source."""
    from orchestrator.patchlevel._windows import WindowsSource
    from orchestrator.transports._winrm import WinRMTransport

    from .wsman import InterpreterEmulator, WSManServer

    runner = PatchHostRunner(host)
    write(host, APP + "\\a.txt", b"hello", mtime_s=1_600_000_000)
    host.reg_set(KEY, "PatchLevel", 7, "DWord")
    with WSManServer(InterpreterEmulator(runner), user="orch", password="pw") as server:
        transport = WinRMTransport(
            "win1", "127.0.0.1", port=server.port, scheme="http", user="orch", password="pw",
            transport="basic", allow_unencrypted=True,
        )  # fmt: skip
        try:
            source = WindowsSource("win1", transport, APP, KEY, ("Contoso", "1.0", 100))
            state = source.state()
            facts = source.facts(["a.txt", "b.txt"])
        finally:
            transport.close()
    assert state is not None and state.level == 7 and state.product == "Contoso"
    fact = facts["a.txt"]
    assert fact is not None and (fact.size, fact.mtime) == (5, 1_600_000_000)
    assert facts["b.txt"] is None
    assert runner.libraries == 0 or runner.libraries == 1


def test_datetime_values_round_trip_through_json(host: WindowsHost) -> None:
    assert to_json(DateTime(621355968000000000 + 15_000_000)) == '"/Date(1500)/"'
    assert to_json([1.0, 0.1, 1e20, Hashtable()]) == "[1,0.1,1E+20,{}]"


def test_match_is_a_case_insensitive_regex_search_and_filters_arrays(ps: Any) -> None:
    assert one(ps, "'4242' -match '^[0-9]+$'") is True
    assert one(ps, "'42x' -match '^[0-9]+$'") is False
    assert one(ps, "'ABC' -match 'b'") is True
    assert one(ps, "'ABC' -cmatch 'b'") is False
    assert one(ps, "'ABC' -notmatch 'z'") is True
    assert ps("@('a1', 'b', 'c2') -match '[0-9]'") == ["a1", "c2"]
    with pytest.raises(Unsupported):
        ps("$Matches")
