"""The suite's split over pytest-xdist's workers (tests/scheduling.py): a file is a unit, the Ray files are one."""

from __future__ import annotations

from pathlib import Path

from tests.scheduling import RAY_FILES, unit_of

ROOT = Path(__file__).resolve().parents[2]


def test_every_ray_file_listed_exists():  # a renamed file would otherwise leave the Ray unit unnoticed
    assert RAY_FILES and all((ROOT / f).is_file() for f in RAY_FILES), sorted(f for f in RAY_FILES if not (ROOT / f).is_file())


def test_a_file_is_a_unit_and_the_ray_files_are_one():
    assert unit_of("tests/e2e/test_sweep.py::test_gail_sweep_over_a_grid") == "ray"
    assert unit_of("tests/cli/test_tune.py::test_bad_space_is_one_line_exit_2_and_no_folder[bad distribution]") == "ray"
    assert unit_of("tests/unit/test_sweep.py::test_parse_seeds[0-4-seeds0]") == "tests/unit/test_sweep.py"
    assert unit_of("tests/e2e/test_pipeline.py::test_shipped_expert_scores_500") == "tests/e2e/test_pipeline.py"
