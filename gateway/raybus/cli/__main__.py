"""``python -m raybus.cli`` runs the ``raybus`` command."""

import sys

from raybus.cli.main import main

sys.exit(main())
