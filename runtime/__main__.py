"""`python -m runtime start ...`: see runtime/cli.py and docs/runtime.md."""

import sys

from runtime.cli import main

sys.exit(main())
