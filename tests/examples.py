"""The example playbooks and the inventory each one runs against (shared by the tests)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {
    "exchange2003-sp2": "exchange2003",
    "exchange2000-active-passive": "exchange2000-ap",
    "exchange2000-active-active": "exchange2000-aa",
    "exchange55": "exchange55",
    "mpweb-patch-level": "mpweb",
    "contactpro-hotfix-install": "contactpro",
    "contactpro-hotfix-remove": "contactpro",
    "msde-msp": "msde",
}
