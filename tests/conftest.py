"""pytest fixtures shared by every test: Posthorn instances.

instance_factory(root=False, main_cf=None) -> Instance (see
tests/integration/instance.py). Every instance made is stopped at teardown
(leftover processes killed with SIGKILL), and with POSTHORN_SANITIZE=1 the
test fails if any process wrote a sanitizer report.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "integration"))

from instance import Instance  # noqa: E402


@pytest.fixture
def instance_factory():
    made = []

    def make(root=False, main_cf=None):
        inst = Instance(root=root, main_cf=main_cf)
        made.append(inst)
        return inst

    yield make
    reports = []
    for inst in made:
        reports.extend(inst.teardown())
    if reports:
        pytest.fail("sanitizer reports:\n" + "\n".join(reports)[:20000], pytrace=False)


@pytest.fixture
def instance(instance_factory):
    """One unprivileged instance with an empty master.cf (not started)."""
    return instance_factory()


def pytest_configure(config):
    """Markers used by the integration tests."""
    config.addinivalue_line("markers", "slow: long-running (external scanners, benchmarks)")
