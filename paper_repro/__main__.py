"""``python -m paper_repro`` and the ``paper-repro`` script: the command line is paper_repro.cli."""

import sys

from paper_repro.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
