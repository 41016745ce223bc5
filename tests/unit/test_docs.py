"""The README and the documentation as a newcomer meets them: short, with the commands that
work, results that are the kept reports' own, and nothing that names this machine."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gailctl.report.published import BLOCK, update

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
INSTALL = ('python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 && .venv/bin/pip install -e '
           '".[test,ray,box2d,mujoco]" && .venv/bin/gailctl gail -c configs/cartpole.yaml')
TESTS = ".venv/bin/python -m pytest -q -n auto"


def tracked(*paths: str) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-z", *paths], cwd=ROOT, capture_output=True, check=True)
    return [p for p in out.stdout.decode().split("\0") if p]


def test_readme_is_short_and_keeps_the_fresh_machine_commands():
    assert len(README.splitlines()) <= 200
    fences = re.findall(r"```\n(.*?)```", README, re.DOTALL)
    assert INSTALL + "\n" in fences and TESTS + "\n" in fences
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(rf"^{re.escape(TESTS)}$", ci, re.MULTILINE)  # CI runs README's test command
    assert "mkdocs build --strict" in ci


def test_readme_keeps_one_tour_block_of_commands_that_exist():
    tours = re.findall(r"<!-- tour -->\n```\n(.*?)```", README, re.DOTALL)
    assert len(tours) == 1 and README.count("<!-- tour -->") == 1
    from gailctl.cli.click_app import command

    used = re.findall(r"gailctl (\w+)", tours[0])
    assert used == ["expert", "record", "gail", "eval"] and set(used) <= set(command.commands)


def test_readme_results_table_is_compact():
    block = next(m for m in BLOCK.finditer(README) if m["kind"] == "headline")
    header = block["body"].splitlines()[0]
    assert header.count("|") - 1 <= 8


def test_results_tables_are_the_kept_reports_numbers():
    assert update(ROOT, check=True) == [], "run `python -m gailctl.report.published` and commit the pages"
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for block in BLOCK.finditer(page.read_text(encoding="utf-8")):
            folders = [ROOT / f for f in block["folders"].split()]
            reports = "".join((f / "results.md").read_text(encoding="utf-8") for f in folders)
            wide = "".join((f / "results.csv").read_text(encoding="utf-8") for f in folders if (f / "results.csv").is_file())
            scores = re.findall(r"\d\.\d\d ± \d\.\d\d", block["body"])
            intervals = re.findall(r"-?\d\.\d\d \[-?\d\.\d\d, -?\d\.\d\d\]", block["body"])
            assert scores or intervals, page
            for score in scores:  # every mean ± std shown is printed so in a report the block names (or its wide table)
                assert f"| {score} |" in reports or f"| {score} (sampled) |" in reports or f",{score}," in wide, (page.name, score)
            if len(folders) == 1:  # an IQM or P(X > BC) with its interval: the report's own
                for interval in intervals:
                    assert interval in reports, (page.name, interval)


def test_docs_hold_one_folder_per_published_benchmark_and_few_files():
    files = tracked("docs")
    assert len(files) <= 150
    for folder in sorted({Path(f).parent for f in files if f.startswith("docs/benchmarks/")}):
        names = {Path(f).name for f in files if Path(f).parent == folder}
        assert {"command.txt", "results.md"} <= names, folder


def test_no_tracked_file_names_this_machines_folders():
    pattern = re.compile(r"/(?:work|root)/")
    found = []
    for name in tracked():
        path = ROOT / name
        if path.suffix in {".png", ".gif", ".zip", ".pt", ".arrow", ".db"} or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{name}:{i}" for i, line in enumerate(text.splitlines(), 1) if pattern.search(line)]
    assert not found, found[:20]
