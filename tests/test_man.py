"""Manual pages: main.cf(5) against the parameter registry, a page for
every program, and troff that mandoc and man(1) accept.

man/main.cf.5 is generated from lib/params.def by tools/mkman_maincf (make
man-update); these tests fail when the committed page and the registry
drift apart, when a program or a required page has no manual, or when a
page has a mandoc warning or error or a man(1) rendering warning.
"""
import glob
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
MAN = os.path.join(ROOT, "man")
PAGES = sorted(glob.glob(os.path.join(MAN, "*.[1-8]")))

PARAM_RE = re.compile(r'^PARAM\((\w+),\s*(\w+),\s*"([^"]*)",\s*"((?:[^"\\]|\\.)*)",', re.M)


def registry():
    """(name, type, default) from params.def, parsed here without our code."""
    with open(os.path.join(ROOT, "lib", "params.def")) as f:
        text = f.read()
    return [(m.group(3), m.group(1), m.group(4)) for m in PARAM_RE.finditer(text)]


def troff_text(s):
    t = s.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + t if s[:1] in (".", "'") else t


def test_main_cf_page_is_generated_from_registry():
    tool = os.path.join(BUILD, "tools", "mkman_maincf")
    assert os.access(tool, os.X_OK), "make did not build tools/mkman_maincf"
    p = subprocess.run([tool, os.path.join(MAN, "main.cf.5.in")], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with open(os.path.join(MAN, "main.cf.5")) as f:
        committed = f.read()
    assert committed == p.stdout, \
        "man/main.cf.5 differs from lib/params.def: run `make man-update` and commit it"


def test_main_cf_page_lists_every_parameter_with_default():
    with open(os.path.join(MAN, "main.cf.5")) as f:
        page = f.read()
    params = registry()
    assert len(params) > 200, "params.def parse failed"
    entries = re.findall(r"^\.TP\n\.B (\S+)\nType: ([^.]+)\. Default:(.*?)\n\.br\n", page,
                         re.M | re.S)
    names = [e[0] for e in entries]
    assert names == [p[0] for p in params], "page order/names differ from the registry"
    for (name, _typ, default), (_n, _t, shown) in zip(params, entries):
        if default == "@computed":
            assert shown.strip() == "computed at run time.", name
        elif default == "":
            assert shown.strip() == "empty.", name
        else:
            assert shown.startswith('\n.RB "" "' + troff_text(default) + '" .'), (name, shown)


def test_every_program_has_a_page():
    programs = [os.path.basename(c)[:-2] for c in glob.glob(os.path.join(ROOT, "cli", "*.c"))]
    daemons = [d for d in ("master", "smtpd", "qmgr", "pickup", "local", "smtp", "imapd",
                           "pop3d", "auth", "lmtp", "anvil")
               if glob.glob(os.path.join(ROOT, d, "*.c"))]
    have = {os.path.basename(p) for p in PAGES}
    missing = [p for p in programs if f"{p}.1" not in have]
    missing += [d for d in daemons if f"{d}.8" not in have]
    missing += [p for p in ("main.cf.5", "master.cf.5", "aliases.5", "access.5", "virtual.5",
                            "transport.5", "posthorn.7") if p not in have]
    assert not missing, f"no manual page for: {missing}"


def test_pages_name_their_program():
    for page in PAGES:
        with open(page) as f:
            text = f.read()
        name = os.path.basename(page).rsplit(".", 1)[0]
        th = re.search(r'^\.TH (\S+) (\d) "(\d{4}-\d\d-\d\d)"', text, re.M)
        assert th, f"{page}: no .TH with section and date"
        assert th.group(1) == name.upper() and th.group(2) == page[-1], page
        assert re.search(r"^\.SH NAME\n.*\b" + re.escape(name) + r"\b.*\\-", text, re.M), page


@pytest.mark.skipif(not shutil.which("mandoc"), reason="mandoc not installed (tools/deps test)")
def test_mandoc_lint_clean():
    p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning"] + PAGES,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and not p.stdout and not p.stderr, p.stdout + p.stderr


@pytest.mark.skipif(not shutil.which("mandoc"), reason="mandoc not installed")
def test_mandoc_rejects_a_broken_page(tmp_path):
    # the lint test above can fail: a page with a stray macro is an error
    bad = tmp_path / "bad.1"
    bad.write_text('.TH BAD 1 "2026-11-23"\n.SH NAME\nbad \\- bad\n.example.com x\n')
    p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "unknown macro" in p.stdout + p.stderr


@pytest.mark.skipif(not shutil.which("man"), reason="man-db not installed")
@pytest.mark.parametrize("page", PAGES, ids=[os.path.basename(p) for p in PAGES])
def test_man_renders(page):
    env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0", LANG="C.UTF-8")
    p = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                       timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stderr == "", p.stderr
    text = re.sub(".\x08", "", p.stdout)          # overstrike bold/underline
    name = os.path.basename(page).rsplit(".", 1)[0]
    assert text.startswith(name.upper() + "(" + page[-1] + ")"), text[:200]
    assert "\nNAME\n" in text and "\nDESCRIPTION\n" in text, text[:500]
