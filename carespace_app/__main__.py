"""``python -m carespace_app <command>``: see carespace_app/cli.py."""
import sys

from carespace_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
