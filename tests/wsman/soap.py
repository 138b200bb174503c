"""WS-Management SOAP envelopes for the test server: parse a request, build the responses and
faults that a Windows WinRM service sends (the shapes pywinrm's ``Protocol`` reads)."""

from __future__ import annotations

import base64
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
CMD_URI = SHELL_URI + "/cmd"
STATE_RUNNING = SHELL_URI + "/CommandState/Running"
STATE_DONE = SHELL_URI + "/CommandState/Done"

#: WSManFault codes Windows answers.
OPERATION_TIMEOUT = 2150858793
SHELL_NOT_FOUND = 2150858843
INVALID_PARAMETER = 2150858882  # used here for an unknown CommandId

_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def parse_duration(text: str | None, default: float = 60.0) -> float:
    """Seconds of an ``xs:duration`` such as ``PT20S`` or ``PT1M0.500S``."""
    match = _DURATION.match((text or "").strip())
    if not match:
        return default
    minutes, seconds = match.groups()
    return float(minutes or 0) * 60 + float(seconds or 0)


@dataclass
class Request:
    """What the server needs from one request envelope."""

    action: str  # Create, Command, Send, Receive, Signal, Delete
    message_id: str
    shell_id: str | None
    operation_timeout: float
    options: dict[str, str]
    body: ET.Element

    def find(self, path: str) -> ET.Element | None:
        """An element of the body (``rsp:`` prefixes allowed)."""
        return self.body.find(path, NS)


def parse_request(data: bytes) -> Request:
    """Parse a request envelope; ValueError if it is not one."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from None
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    if header is None or body is None:
        raise ValueError("not a SOAP envelope")
    action = (header.findtext("a:Action", "", NS) or "").rsplit("/", 1)[-1]
    selector = header.find("w:SelectorSet/w:Selector[@Name='ShellId']", NS)
    options = {
        o.get("Name", ""): (o.text or "") for o in header.findall("w:OptionSet/w:Option", NS)
    }
    return Request(
        action=action,
        message_id=header.findtext("a:MessageID", "", NS) or "",
        shell_id=selector.text if selector is not None else None,
        operation_timeout=parse_duration(header.findtext("w:OperationTimeout", None, NS)),
        options=options,
        body=body,
    )


def envelope(action: str, relates_to: str, body: str) -> bytes:
    """A response envelope answering the request ``relates_to``."""
    ns = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items() if k != "f")
    return (
        f'<s:Envelope xml:lang="en-US" {ns}><s:Header>'
        f"<a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def create_response(req: Request, shell_id: str, endpoint: str, owner: str) -> bytes:
    """Create: the new shell's id, as a selector and in ``rsp:Shell``."""
    body = (
        f"<x:ResourceCreated><a:Address>{escape(endpoint)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{CMD_URI}</w:ResourceURI><w:SelectorSet>"
        f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        "</a:ReferenceParameters></x:ResourceCreated>"
        f"<rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId><rsp:ResourceUri>{CMD_URI}"
        f"</rsp:ResourceUri><rsp:Owner>{escape(owner)}</rsp:Owner>"
        "<rsp:ClientIP>127.0.0.1</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
        "<rsp:InputStreams>stdin</rsp:InputStreams>"
        "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
    )
    return envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", req.message_id, body
    )


def command_response(req: Request, command_id: str) -> bytes:
    """Command: the new command's id."""
    body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
    return envelope(SHELL_URI + "/CommandResponse", req.message_id, body)


def empty_response(req: Request, name: str) -> bytes:
    """Send, Signal and Delete answers (``name``: SendResponse, SignalResponse, or '')."""
    body = f"<rsp:{name}/>" if name else ""
    action = (
        SHELL_URI + f"/{name}"
        if name
        else "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse"
    )
    return envelope(action, req.message_id, body)


def _streams(name: str, command_id: str, data: bytes, piece: int) -> str:
    return "".join(
        f'<rsp:Stream Name="{name}" CommandId="{command_id}">'
        f"{base64.b64encode(data[i : i + piece]).decode()}</rsp:Stream>"
        for i in range(0, len(data), piece)
    )


def receive_response(
    req: Request, command_id: str, out: bytes, err: bytes, exit_code: int | None, piece: int = 8192
) -> bytes:
    """Receive: stream chunks, then ``Running``, or ``Done`` (once) with the exit code."""
    body = _streams("stdout", command_id, out, piece) + _streams("stderr", command_id, err, piece)
    if exit_code is None:
        body += f'<rsp:CommandState CommandId="{command_id}" State="{STATE_RUNNING}"/>'
    else:
        body += (
            f'<rsp:Stream Name="stdout" CommandId="{command_id}" End="true"></rsp:Stream>'
            f'<rsp:Stream Name="stderr" CommandId="{command_id}" End="true"></rsp:Stream>'
            f'<rsp:CommandState CommandId="{command_id}" State="{STATE_DONE}">'
            f"<rsp:ExitCode>{exit_code}</rsp:ExitCode></rsp:CommandState>"
        )
    return envelope(
        SHELL_URI + "/ReceiveResponse",
        req.message_id,
        f'<rsp:ReceiveResponse xmlns:rsp="{NS["rsp"]}">{body}</rsp:ReceiveResponse>',
    )


def fault(
    relates_to: str, code: int, message: str, subcode: str = "w:InternalError", sender: bool = False
) -> bytes:
    """A SOAP fault carrying a ``WSManFault`` with Windows' numeric ``code``."""
    body = (
        f"<s:Fault><s:Code><s:Value>{'s:Sender' if sender else 's:Receiver'}</s:Value>"
        f"<s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(message)}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="{NS["f"]}" Code="{code}" Machine="127.0.0.1">'
        f"<f:Message>{escape(message)}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    return envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


def timeout_fault(relates_to: str) -> bytes:
    """The fault a Receive answers when nothing happened within its OperationTimeout."""
    return fault(
        relates_to,
        OPERATION_TIMEOUT,
        "The WS-Management service cannot complete the operation within the time specified "
        "in OperationTimeout.",
        subcode="w:TimedOut",
    )


def shell_not_found_fault(relates_to: str, shell_id: str) -> bytes:
    """The fault for a request naming a shell the server does not (or no longer) hold."""
    return fault(
        relates_to,
        SHELL_NOT_FOUND,
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the "
        "shell was not found on the server. Possible causes are: the specified ShellId is "
        "incorrect or the shell no longer exists on the server.",
        subcode="w:InvalidSelectors",
        sender=True,
    )
