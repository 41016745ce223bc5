"""Other processes' load during a measurement, and what the bench report claims from it."""

from __future__ import annotations

import os
from pathlib import Path

from gailctl.core import cpu_load
from gailctl.core.cpu_load import CpuSample, other_load
from gailctl.experiments.bench import render_markdown

TICK = os.sysconf("SC_CLK_TCK")


def proc_stat(path: Path, *, user: int, system: int, idle: int) -> Path:
    path.write_text(f"cpu  {user} 0 {system} {idle} 7 0 0 0 0 0\ncpu0 {user} 0 {system} {idle} 7 0 0 0 0 0\n")
    return path


def test_sample_reads_the_machines_busy_time_without_idle_and_iowait(tmp_path: Path) -> None:
    stat = proc_stat(tmp_path / "stat", user=3 * TICK, system=TICK, idle=50 * TICK)
    assert cpu_load.sample(stat).machine_busy_s == 4.0
    assert cpu_load.sample(tmp_path / "absent").machine_busy_s is None


def test_other_load_is_the_machines_busy_time_minus_our_own() -> None:
    busy = other_load(CpuSample(wall=0.0, machine_busy_s=100.0, own_s=10.0), CpuSample(wall=10.0, machine_busy_s=119.0, own_s=20.0))
    assert busy == {"wall_s": 10.0, "other_cpu_s": 9.0, "other_cores": 0.9, "alone": False}
    quiet = other_load(CpuSample(wall=0.0, machine_busy_s=100.0, own_s=10.0), CpuSample(wall=10.0, machine_busy_s=110.2, own_s=20.0))
    assert quiet["alone"] is True and quiet["other_cores"] == 0.02
    unknown = other_load(CpuSample(wall=0.0, machine_busy_s=None, own_s=0.0), CpuSample(wall=1.0, machine_busy_s=None, own_s=1.0))
    assert unknown["alone"] is None and unknown["other_cores"] is None


def speed(**load: object) -> dict:
    return {"env_id": "seals/CartPole-v0", "env_steps": 20480, "repeats": 3, "ppo_steps_per_s": 4000.0, "gail_steps_per_s": 3500.0,
            "gail_generator_s": 5.0, "gail_discriminator_s": 0.8, "ratio": 0.88, "machine_cores": 2, **load}


def throughput_text(entry: dict) -> str:
    return render_markdown([], speed=[entry], describe={"configs": ["c.yaml"], "trials": False}, wall_s=60.0)


def test_the_report_claims_alone_only_when_other_processes_took_almost_nothing() -> None:
    loaded = throughput_text(speed(other_cpu_s=20.0, other_cores=0.93, alone=False))
    assert "measured alone" not in loaded and "NOT alone" in loaded and "| 0.93 of 2 cores |" in loaded
    quiet = throughput_text(speed(other_cpu_s=0.1, other_cores=0.01, alone=True))
    assert "measured alone before any trial" in quiet and "| alone (0.01 cores) |" in quiet
    unknown = throughput_text(speed())  # a bench from before the load was measured, or no /proc/stat
    assert "measured alone" not in unknown and "not known to be alone" in unknown and "| not measured |" in unknown
