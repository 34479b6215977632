"""python -m carespace_app.i18n extract|update|check (see workflow.py)."""
from __future__ import annotations

import sys

from carespace_app.i18n import workflow as catalogue


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "extract":
        found = catalogue.write_template()
        print(f"{len(found)} sentences in {catalogue.POT_PATH}")
        return 0
    if command == "update":
        catalogue.update_languages()
        print("Updated the languages from messages.pot; translate the empty msgstr entries.")
        return 0
    if command == "check":
        problems = catalogue.problems()
        for problem in problems:
            print(problem)
        print("The catalogues are complete." if not problems else f"{len(problems)} problems.")
        return 1 if problems else 0
    print("usage: python -m carespace_app.i18n extract|update|check")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
