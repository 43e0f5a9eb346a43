"""``python -m runnerkit``: the command line."""

from runnerkit.cli import main

raise SystemExit(main())
