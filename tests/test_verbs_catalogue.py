"""The verb catalogue: which kinds each dialect implements, and that it says the truth (a
kind listed for a dialect renders there; a kind not listed is refused at render time)."""

from __future__ import annotations

import pytest

from orchestrator.kinds import KNOWN_KINDS
from orchestrator.plan import Action
from orchestrator.verbs import CATALOGUE, ENGINE_ONLY_KINDS, dialects_for
from orchestrator.verbs.powershell import render_ps
from orchestrator.verbs.sh import render_sh

from .hostile import golden_actions


def test_every_kind_that_reaches_a_host_has_a_powershell_verb() -> None:
    assert CATALOGUE["powershell"] == frozenset(KNOWN_KINDS) - ENGINE_ONLY_KINDS
    assert CATALOGUE["sh"] < CATALOGUE["powershell"]
    assert dialects_for("barrier") == []
    assert dialects_for("upgrade_virtual_server") == ["powershell"]
    assert dialects_for("stop_services") == ["powershell", "powershell2", "sh"]
    assert CATALOGUE["powershell2"] < CATALOGUE["powershell"]


@pytest.mark.parametrize("kind", sorted(set(KNOWN_KINDS) - ENGINE_ONLY_KINDS))
def test_the_catalogue_matches_what_the_renderers_do(kind: str) -> None:
    sample = next((a for a in golden_actions() if a.kind == kind), None)
    action = sample or Action(f"x/{kind}", kind, "h", None, {}, (), 1, "p", "t")
    assert render_ps(action, "probe").startswith("Invoke-OrchVerb")
    if kind not in CATALOGUE["sh"]:
        with pytest.raises(ValueError):
            render_sh(action, "probe")
