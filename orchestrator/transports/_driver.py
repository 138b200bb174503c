"""The engine's :class:`~orchestrator.engine._protocols.Driver` over real hosts: each step
of an action is rendered as a verb call (PowerShell for Windows hosts, POSIX sh for Linux,
see docs/verbs.md) and run through that host's :class:`~._protocol.Transport`.

Run-wide actions (``host`` null) run on their cluster's first reachable node; a check with
neither host nor cluster (an acknowledgement in the playbook) needs no host. A reboot's
apply returns once the host is back: it polls the verb's verify (boot time changed, remote
shell answers) until the step's timeout.

On Windows the verb library is sent once per host (the persistent interpreter keeps it in
its runspace) and each step sends only its one-line call; if the interpreter was replaced
and has lost the library, it is sent again and the step retried once (under a second step
id derived from the first: the first one's record says it failed at once). On Linux each
request runs in a fresh ``sh``, so the library travels with every call.

Every apply is sent with the engine's step id, so the host records it and runs it at most
once; :meth:`TransportDriver.recall` asks the host what became of one (docs/engine.md,
"Exactly once"). Patch-level steps keep their own transaction and recovery instead.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..engine._clock import RealClock
from ..engine._protocols import Clock, StepResult
from ..errors import FatalError, StepTimeout, TransientError, VerificationFailed
from ..plan import Action
from ..service_names import service_name_problem
from ._frame import DUPLICATE_EXIT, TIMEOUT_EXIT
from ._protocol import Result, Transport
from ._quote import ps_quote

if TYPE_CHECKING:
    from ..patchlevel._steps import PatchStep

#: Plan seconds allowed for a probe or a verify.
CHECK_TIMEOUT_S = 300.0
_CLUSTER_FACTS = """
$nodes = @(Get-ClusterNode -Cluster {cluster} | ForEach-Object {{ $_.Name }})
$groups = @{{}}
foreach ($g in @(Get-ClusterGroup -Cluster {cluster})) {{
    $groups[$g.Name] = @{{ 'owner' = $g.OwnerNode.Name }}
}}
$global:OrchPayload = @{{ 'nodes' = $nodes; 'groups' = $groups }}
"""


class TransportDriver:
    """Runs verbs on the hosts of ``facts`` through transports made by ``connect(host)``.
    ``scope`` (the plan's fingerprint) scopes what hosts remember per action id."""

    def __init__(
        self,
        facts: Mapping[str, Any],
        connect: Callable[[str], Transport],
        *,
        clock: Clock | None = None,
        reboot_poll_s: float = 10.0,
        scope: str = "",
    ) -> None:
        self.facts = facts
        self.scope = scope
        self._connect = connect
        self.clock = clock or RealClock()
        self.reboot_poll_s = reboot_poll_s
        self._transports: dict[str, Transport] = {}
        self._loaded: set[str] = set()
        self._lock = threading.Lock()

    # -- plumbing --------------------------------------------------------------------------
    def _transport(self, host: str) -> Transport:
        with self._lock:
            if host not in self._transports:
                self._transports[host] = self._connect(host)
            return self._transports[host]

    def _platform(self, host: str) -> str:
        return str(self.facts.get("hosts", {}).get(host, {}).get("platform", "windows"))

    def _target(self, action: Action) -> str | None:
        if action.host:
            return action.host
        if action.cluster:
            nodes = self.facts.get("clusters", {}).get(action.cluster, {}).get("nodes", [])
            return str(nodes[0]) if nodes else None
        return None

    def _script(self, action: Action, step: str, host: str) -> str:
        if self._platform(host) == "linux":
            from ..verbs.sh import sh_script

            return sh_script(action, step, self.scope)
        from ..verbs.powershell import render_ps

        return render_ps(action, step, self.scope)

    def _load_library(self, host: str, transport: Transport) -> None:
        from ..verbs.powershell import PS_LIBRARY

        result = transport.run(PS_LIBRARY, timeout=CHECK_TIMEOUT_S)
        if result.exit_code != 0:
            reason = _first_line(result.stderr) or f"exit code {result.exit_code}"
            raise FatalError(f"cannot load the verb library on {host}: {reason}")
        self._loaded.add(host)

    def _call(self, action: Action, step: str, timeout: float, step_id: str = "") -> Result:
        host = self._target(action)
        if host is None:
            raise FatalError(f"{action.kind} {action.id} names no host to run on")
        transport = self._transport(host)
        script = self._script(action, step, host)
        windows = self._platform(host) != "linux"
        if windows and host not in self._loaded:
            self._load_library(host, transport)
        result = transport.run(script, timeout=timeout, step=step_id or None)
        if step_id and result.exit_code == DUPLICATE_EXIT and "already received" in result.stderr:
            # sent before, by an earlier session (a compensation resumed from attempt 0):
            # the host's record of that sending is the answer
            recalled = transport.recall(step_id, timeout=CHECK_TIMEOUT_S)
            if recalled is None:
                raise TransientError(f"{host}: step {step_id} was voided; a new attempt is needed")
            result = recalled
        if windows and result.exit_code != 0 and _library_missing(result.stderr):
            self._load_library(host, transport)
            result = transport.run(script, timeout=timeout, step=_again(step_id) or None)
        return _checked(result, step, timeout)

    def recall(self, action: Action, step_id: str) -> StepResult | None:
        """What became of the apply sent as ``step_id``: the host's recorded result (None if
        it never started; OutcomeUnknown if it started and its process is gone)."""
        host = self._target(action)
        if host is None or self._local(action) or self._patch(action) is not None:
            return None
        transport = self._transport(host)
        result = transport.recall(step_id, timeout=CHECK_TIMEOUT_S)
        windows = self._platform(host) != "linux"
        if windows and result is not None and result.exit_code and _library_missing(result.stderr):
            result = transport.recall(_again(step_id), timeout=CHECK_TIMEOUT_S)
        if result is None:
            return None
        payload = _checked(result, "apply", CHECK_TIMEOUT_S).payload
        if action.kind == "reboot" and payload.get("rebooting", True):
            self._wait_until_back(action, self.clock.now() + CHECK_TIMEOUT_S)
        return _step_result(payload, action.kind)

    def _patch(self, action: Action) -> PatchStep | None:
        """The patch-level step of ``action`` (one with ``install_dir``), else None."""
        from ..patchlevel._steps import PatchStep, is_patch_step

        host = self._target(action)
        if host is None or not is_patch_step(action):
            return None
        platform = self._platform(host)
        transport = self._transport(host)
        if platform == "linux" and not hasattr(transport, "file_facts"):
            raise FatalError(f"{action.id}: {host}'s transport cannot gather file facts: use ssh")
        return PatchStep(host, transport, action, platform)

    @staticmethod
    def _local(action: Action) -> bool:
        """A check with no host and no cluster: answered from the plan itself."""
        return action.host is None and action.cluster is None

    # -- the Driver protocol ---------------------------------------------------------------
    def probe(self, action: Action) -> bool:
        """Has ``action`` already taken effect on its host?"""
        if self._local(action):
            return False
        if (patch := self._patch(action)) is not None:
            return patch.probe()
        return bool(self._call(action, "probe", CHECK_TIMEOUT_S).payload.get("in_effect"))

    def apply(self, action: Action, timeout_s: float, step_id: str = "") -> StepResult:
        """Run the verb (recorded on the host as ``step_id``); for a reboot, wait until the
        host is back."""
        if self._local(action):
            if action.params.get("check") == "acknowledged":
                return StepResult(0, f"acknowledged: {action.params.get('statement', '')}")
            raise FatalError(f"{action.id}: a {action.kind} without a host cannot run")
        if (patch := self._patch(action)) is not None:
            return patch.apply()
        deadline = self.clock.now() + timeout_s
        payload = self._call(action, "apply", timeout_s, step_id).payload
        if action.kind == "reboot" and payload.get("rebooting", True):
            self._wait_until_back(action, deadline)
        return _step_result(payload, action.kind)

    def _wait_until_back(self, action: Action, deadline: float) -> None:
        last = "the host did not answer"
        while True:
            try:
                self.verify(action)
                return
            except (TransientError, VerificationFailed) as exc:
                last = exc.message
            if self.clock.now() + self.reboot_poll_s > deadline:
                raise StepTimeout(f"{action.host} is not back from its reboot: {last}")
            self.clock.sleep(self.reboot_poll_s)

    def verify(self, action: Action) -> None:
        """Raise VerificationFailed unless the verb's post-condition holds."""
        if self._local(action):
            return
        if (patch := self._patch(action)) is not None:
            return patch.verify()
        payload = self._call(action, "verify", CHECK_TIMEOUT_S).payload
        if not payload.get("ok"):
            raise VerificationFailed(str(payload.get("message") or f"{action.id} did not hold"))

    def live_facts(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """Cluster nodes and group owners as the clusters report them; hosts that do not
        answer. Pool membership is not discoverable in general and is not reported."""
        unreachable: list[str] = []
        clusters: dict[str, Any] = {}
        for name, cluster in facts.get("clusters", {}).items():
            for node in cluster.get("nodes", []):
                script = _CLUSTER_FACTS.format(cluster=ps_quote(str(name)))
                try:
                    result = self._transport(str(node)).run(script, timeout=CHECK_TIMEOUT_S)
                except TransientError:
                    unreachable.append(str(node))
                    continue
                if result.exit_code == 0:
                    clusters[name] = dict(result.payload)
                    break
        pools = {
            p: {"members": list(v.get("members", []))} for p, v in facts.get("pools", {}).items()
        }
        return {"clusters": clusters, "pools": pools, "unreachable": sorted(set(unreachable))}

    def close(self) -> None:
        """Close every transport opened."""
        with self._lock:
            transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            transport.close()


def service_data(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What a services verb reported (docs/verbs.md): ``services_stopped`` (each
    ``{name, previous, start_mode, dependents}``, only well-formed entries whose name is a
    service name), ``services_skipped`` (not installed) and a ``note`` naming the skipped."""
    stopped = []
    for entry in _listed(payload.get("stopped")):
        if not isinstance(entry, Mapping) or service_name_problem(entry.get("name")):
            continue
        deps = entry.get("dependents") or []
        stopped.append(
            {
                "name": str(entry["name"]),
                "previous": str(entry.get("previous", "active")),
                "start_mode": str(entry.get("start_mode", "")),
                "dependents": [str(d) for d in deps] if isinstance(deps, list) else [],
            }
        )
    skipped = [str(n) for n in _listed(payload.get("skipped")) if isinstance(n, str)]
    data: dict[str, Any] = {"services_stopped": stopped, "services_skipped": skipped}
    if skipped:
        data["note"] = "skipped (not installed): " + ", ".join(skipped)
    return data


def _listed(value: Any) -> list[Any]:
    """A payload list (ConvertTo-Json writes a one-item array of a pipeline as the item)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _checked(result: Result, step: str, timeout: float) -> Result:
    """``result`` if the verb succeeded, else the StepError its exit code means."""
    if result.exit_code == TIMEOUT_EXIT:
        raise StepTimeout(f"{step} did not finish within {timeout:.0f} s", exit_code=124)
    if result.exit_code != 0:
        message = _first_line(result.stderr) or f"the {step} verb failed"
        raise FatalError(message, exit_code=result.exit_code, output=result.stderr)
    return result


def _step_result(payload: Mapping[str, Any], kind: str) -> StepResult:
    data = {"reboot_required": bool(payload.get("reboot_required", False))}
    if kind in ("stop_services", "start_services"):
        data.update(service_data(payload))
    return StepResult(
        exit_code=int(payload.get("exit_code", 0)),
        output=str(payload.get("output", "")),
        data=data,
    )


def _again(step_id: str) -> str:
    """The step id of a second sending after the library was reloaded ("" stays "")."""
    return hashlib.sha256(f"again:{step_id}".encode()).hexdigest()[:32] if step_id else ""


def _library_missing(stderr: str) -> bool:
    """True if PowerShell says the verb dispatcher does not exist (a fresh interpreter)."""
    return "Invoke-OrchVerb" in stderr and (
        "not recognized" in stderr or "CommandNotFoundException" in stderr
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""
