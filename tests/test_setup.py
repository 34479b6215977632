"""Set-up as a newcomer meets it: `make run` must leave the checkout as it found it."""

import json
from pathlib import Path

from reflex_base import constants
from reflex.utils import frontend_skeleton

ROOT = Path(__file__).resolve().parent.parent
COMMITTED_PACKAGE_JSON = ROOT / constants.Bun.ROOT_LOCKFILE_DIR / constants.PackageJson.PATH


def test_the_committed_package_json_is_byte_for_byte_what_a_build_writes_back(monkeypatch):
    # Every `reflex run` / `reflex export` renders .web/package.json from reflex.lock/'s copy
    # (compact JSON) and copies it back into reflex.lock/; a committed file in any other
    # form shows up as a change in `git status` after the first `make run`.
    monkeypatch.chdir(ROOT)
    assert COMMITTED_PACKAGE_JSON.read_text() == frontend_skeleton._compile_package_json()


def test_the_committed_package_json_pins_what_this_reflex_asks_for():
    # A dependency Reflex requires but the file lacks (or pins differently) makes the build
    # `bun add` it, which rewrites reflex.lock/ (and fails offline with a frozen lockfile).
    committed = json.loads(COMMITTED_PACKAGE_JSON.read_text())
    for section, wanted in (("dependencies", constants.PackageJson.DEPENDENCIES),
                            ("devDependencies", constants.PackageJson.DEV_DEPENDENCIES)):
        for name, version in wanted.items():
            assert committed[section].get(name) == version, (section, name)


def test_the_readme_names_the_node_version_this_reflex_asks_for():
    readme = (ROOT / "README.md").read_text()
    assert f"Upgrade to {constants.Node.MIN_VERSION} or higher" in readme
    assert "closing notes" not in readme  # a pointer a reader of the checkout cannot follow


def test_every_pointer_from_the_makefile_leads_somewhere_in_the_readme():
    makefile, readme = (ROOT / "Makefile").read_text(), (ROOT / "README.md").read_text()
    assert "ENGINEERING notes" not in makefile  # not in the repository
    assert "see Troubleshooting in README.md" in makefile
    assert "\n## Troubleshooting\n" in readme
    assert '\n## The two commands\n' in readme and '(README, "The two commands")' in makefile
