"""Golden transcripts for lookup-table semantics: tests/golden/dict_*.in is
fed to build/tests/dict_golden and the output must equal the .ref file,
which was written by hand from access(5)/virtual(5)."""
import glob
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
CASES = sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "dict_*.in")))


@pytest.mark.parametrize("case", CASES, ids=[os.path.basename(c)[:-3] for c in CASES])
def test_golden(case):
    with open(case) as f:
        p = subprocess.run([os.path.join(BUILD, "tests", "dict_golden")], stdin=f,
                           capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with open(case[:-3] + ".ref") as f:
        expected = f.read()
    assert p.stdout == expected
