"""acme-runners: an example runnerkit plugin distribution.

Nothing is imported here, so that runnerkit can import the pluggy plugin
(:mod:`acme_runners.plugin`) without pulling torch in.
"""

__version__ = "0.1.0"
