"""`python -m rag …`: the command-line interface."""

import sys

from rag.cli import main

sys.exit(main())
