"""A WS-Management test server for the WinRM transport: the real pywinrm client talks to it
over HTTP(S); commands are emulated in Python (fixed answers, or the persistent interpreter)."""

from .commands import (
    CLIXML_SAMPLE,
    CommandSession,
    InterpreterDied,
    InterpreterEmulator,
    Reply,
    ScriptedCommand,
)
from .runner import ScriptRunner, VocabularyRunner, make_script
from .server import WSManServer

__all__ = [
    "CLIXML_SAMPLE",
    "CommandSession",
    "InterpreterDied",
    "InterpreterEmulator",
    "Reply",
    "ScriptRunner",
    "ScriptedCommand",
    "VocabularyRunner",
    "WSManServer",
    "make_script",
]
