"""`gailctl doctor RUN [--json]`: a verdict, or one line and exit 2 for a path it cannot read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from gailctl.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"
SEED2 = FIXTURES / "cartpole-seed2-no-penalty"


def test_doctor_prints_the_finding_why_and_next_step():
    result = CliRunner().invoke(app, ["doctor", str(SEED2)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].strip().startswith("error   discriminator-wins: discriminator accuracy 0.95 (mean) from round 39")
    assert lines[2].strip().startswith("why: ") and lines[3].strip().startswith("next: gailctl gail -c ")


def test_doctor_json_is_one_object_for_scripts():
    result = CliRunner().invoke(app, ["doctor", str(FIXTURES / "mujoco" / "hcx-s0"), "--json"])
    data = json.loads(result.output)
    assert data["kind"] == "run" and data["verdicts"][0]["healthy"] is True
    assert data["verdicts"][0]["healthy_because"][0].startswith("final normalized score 0.95")


def test_doctor_bad_input_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    for path, says in ((tmp_path / "nowhere", "no such run folder"), (tmp_path / "notes.txt", "got a file"),
                       (tmp_path / "empty", "not a gailctl run folder")):
        result = CliRunner().invoke(app, ["doctor", str(path)])
        assert result.exit_code == 2
        assert result.output.count("\n") == 1 and result.output.startswith("error: ") and says in result.output


def test_runs_marks_a_run_with_findings(tmp_path):
    shutil.copytree(SEED2, tmp_path / "gail__seals-CartPole-v0__s2__20261205-101237")
    shutil.copytree(FIXTURES / "cartpole-seed2-no-penalty-linear", tmp_path / "gail__seals-CartPole-v0__s2__20261205-091552")
    result = CliRunner().invoke(app, ["runs", str(tmp_path)])
    marked = [line for line in result.output.splitlines() if "!1" in line]
    assert len(marked) == 1 and "101237" in marked[0]
    data = json.loads(CliRunner().invoke(app, ["runs", str(tmp_path), "--json"]).output)
    assert sorted(r["findings"] for r in data) == [[], ["discriminator-wins"]]


def test_doctor_never_imports_torch():
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom gailctl.cli import app\n"
            f"r = CliRunner().invoke(app, ['doctor', {str(SEED2)!r}])\nassert r.exit_code == 0, r.output\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
