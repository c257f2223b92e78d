"""``python -m metakb``: the ``metakb`` command."""

from metakb.cli import main

raise SystemExit(main())
