"""A controller for the exactly-once crash test, run as its own process (and SIGKILLed):
the engine, the journal, the transport driver and the SSH transport on a small Linux plan
whose every change appends to a host-side counter file (hooks, and an install whose
stand-in command appends too). A playbook cannot express a Linux install by command, so
the plan is built here rather than by ``orchestrator apply``; everything below the plan is
the same code the command line runs.

``python -m tests.once_controller CONFIG.json [--resume]``: exit 0 done, 1 failed, 75
paused."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from orchestrator.engine._clock import RealClock
from orchestrator.engine._engine import Engine, EngineOptions
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.engine._retry import RetryPolicy
from orchestrator.plan import Action, Plan
from orchestrator.transports._driver import TransportDriver
from orchestrator.transports._ssh import SSHTransport

#: What every step does on the host: a line before and after a short pause.
STEP = "echo start-{aid} >> {log}; sleep {pause}; echo end-{aid} >> {log}"


def build_plan(config: dict[str, Any]) -> Plan:
    """Per host: pre hook → install (stand-in command) → post hook → second post hook."""
    actions: list[Action] = []
    tag, pause = config["tag"], config["pause_s"]
    for host in config["hosts"]:
        log = f"{config['work']}/{host}.log"
        prev: tuple[str, ...] = ()
        for name, kind in (("pre", "hook"), ("install", "install"), ("post", "hook"),
                           ("post2", "hook")):  # fmt: skip
            aid = f"{host}/{name}"
            run = STEP.format(aid=aid, log=log, pause=pause)
            if kind == "hook":
                params: dict[str, Any] = {"stage": "post", "name": f"{name}-{tag}", "run": run}
            else:
                params = {"package": f"app-{tag}-{host}", "version": "1", "package_kind": "deb",
                          "command": run}  # fmt: skip
            actions.append(Action(aid, kind, host, None, params, prev, 1, "tier-1", name))
            prev = (aid,)
    facts = {
        "hosts": {h: {"platform": "linux", "connection": {"kind": "ssh"}} for h in config["hosts"]}
    }
    return Plan({"name": f"once-{tag}"}, {}, facts, tuple(actions), {}, {})


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text())
    plan = build_plan(config)
    journal = Journal(Path(config["journal"]))
    clock = RealClock()
    if "--resume" in argv:
        run_id = journal.resolve("last")
    else:
        run_id = journal.create_run(plan.to_json(), plan, {}, clock.now())

    def connect(host: str) -> SSHTransport:
        return SSHTransport(
            host, config["address"], port=config["port"], user=config["user"],
            key_file=Path(config["key_file"]), known_hosts=Path(config["known_hosts"]),
        )  # fmt: skip

    driver = TransportDriver(plan.facts, connect, scope=config["tag"])
    options = EngineOptions(
        forks=3,
        max_failures=100,
        policy=RetryPolicy(2, 0.2, 0.5),
        timeouts=dict.fromkeys(("hook", "install"), 60.0),
    )
    try:
        engine = Engine(plan, run_id, journal, driver, clock, Recorder(), options)
        result = engine.run(resumed="--resume" in argv)
    finally:
        driver.close()
        journal.close()
    return {"done": 0, "failed": 1}.get(result.status, 75)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
