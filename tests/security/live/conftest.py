"""The dedicated server shared by test_faults.py and test_https.py (one start per run)."""
from __future__ import annotations

import pytest

from .dedicated import dedicated_server


@pytest.fixture(scope="session")
def dedicated(tmp_path_factory, frontend_cache):
    yield from dedicated_server(tmp_path_factory.mktemp("dedicated"))
