"""Runs every C unit test binary (build/tests/test_*) as one pytest case each."""
import os
import subprocess
import glob

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
UNITS = sorted(glob.glob(os.path.join(BUILD, "tests", "test_*")))


def test_unit_binaries_exist():
    srcs = glob.glob(os.path.join(ROOT, "tests", "unit", "test_*.c"))
    assert srcs, "no unit test sources"
    built = {os.path.basename(u) for u in UNITS}
    missing = [s for s in srcs if os.path.basename(s)[:-2] not in built]
    assert not missing, f"unit tests not built: {missing}"


@pytest.mark.parametrize("binary", UNITS, ids=[os.path.basename(u) for u in UNITS])
def test_unit(binary):
    p = subprocess.run([binary], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"{binary} failed:\n{p.stdout}\n{p.stderr}"
    assert " passed, 0 failed" in p.stdout, p.stdout
