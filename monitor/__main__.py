"""``python -m monitor``: see ``monitor.cli``."""

from monitor.cli import main

raise SystemExit(main())
