"""Smoke-runs every libFuzzer target for a bounded number of inputs.

Each target is built by `make fuzz` (clang + ASan + UBSan). A crash, leak,
sanitizer report or timeout fails the test. Long runs are done by hand.
"""
import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRCS = sorted(glob.glob(os.path.join(ROOT, "tests", "fuzz", "fuzz_*.c")))
NAMES = [os.path.basename(s)[:-2] for s in SRCS]


@pytest.fixture(scope="module")
def fuzz_build():
    if not shutil.which("clang"):
        pytest.skip("clang not installed: fuzz targets not built")
    if os.environ.get("POSTHORN_SANITIZE") == "1":
        pytest.skip("fuzz targets already run with ASan+UBSan in the normal pass")
    p = subprocess.run(["make", "-s", "-C", ROOT, "fuzz"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return os.path.join(ROOT, "build-fuzz", "fuzz")


@pytest.mark.parametrize("name", NAMES)
def test_fuzz_smoke(fuzz_build, name, tmp_path):
    binary = os.path.join(fuzz_build, name)
    corpus = os.path.join(ROOT, "tests", "fuzz", "corpus", name)
    args = [binary, "-runs=30000", "-max_total_time=15", "-max_len=4096", "-timeout=10", "-rss_limit_mb=1024", str(tmp_path)]
    if os.path.isdir(corpus):
        args.append(corpus)
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-4000:]
