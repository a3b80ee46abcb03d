"""`python -m qwatch` runs the `qwatch` command."""

import sys

from qwatch.cli import main

sys.exit(main())
