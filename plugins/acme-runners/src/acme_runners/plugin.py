"""The pluggy plugin of acme-runners (entry-point group ``runnerkit.plugins``).

runnerkit imports this module to ask its hooks, so it stays light: components are named as
``"module:attr"`` strings and imported only when a config first builds them.
"""

from __future__ import annotations

import runnerkit


@runnerkit.hookimpl
def runnerkit_runners() -> dict[str, str]:
    """The runners this plugin provides."""
    return {"SeededEpochRunner": "acme_runners.runners:SeededEpochRunner"}
