"""What imitation's adversarial trainer keeps between rounds, beyond the nets: saved and restored.

imitation 1.0.1 offers no public way to save a trainer's generator replay buffer, and
SB3's CSV log writer always starts its file afresh. Both are reached here and nowhere else,
so that a change in either library breaks one module (and `tests/unit/test_trainer_state.py`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

REPLAY_BUFFER_FILE = "gen_replay_buffer.pt"


def _buffer(trainer: Any) -> Any:
    # PRIVATE: imitation's `AdversarialTrainer._gen_replay_buffer` (a `data.buffer.ReplayBuffer`)
    # wraps a `Buffer` in `_buffer`, whose `_arrays`, `_idx` and `_n_data` are its whole state.
    # The only place gailctl touches them; tests/unit/test_trainer_state.py fails if they move.
    return trainer._gen_replay_buffer._buffer


def replay_buffer_payload(trainer: Any) -> dict[str, Any]:
    """The generator samples the discriminator draws from, as tensors and ints (no pickled objects)."""
    import torch

    buf = _buffer(trainer)
    return {
        "capacity": int(buf.capacity),
        "idx": int(buf._idx),
        "n_data": int(buf._n_data),
        # `infos` (an object array of dicts) is not saved: the discriminator never reads it.
        "arrays": {k: torch.from_numpy(v.copy()) for k, v in buf._arrays.items() if v.dtype != object},
    }


def restore_replay_buffer(trainer: Any, payload: dict[str, Any], *, source: Path) -> None:
    """Put a saved replay buffer back; refuse one of another capacity or shape (another config)."""
    from gailctl.core.errors import UsageError

    buf = _buffer(trainer)
    arrays = {k: v.numpy() for k, v in payload["arrays"].items()}
    shapes = {k: (v.shape, v.dtype) for k, v in buf._arrays.items() if v.dtype != object}
    if int(payload["capacity"]) != buf.capacity or {k: (v.shape, v.dtype) for k, v in arrays.items()} != shapes:
        raise UsageError(f"{source}: a replay buffer of capacity {payload['capacity']} does not fit this run's "
                         f"(gail.gen_replay_buffer_capacity gives {buf.capacity})")
    for k, v in arrays.items():
        buf._arrays[k][...] = v
    for k, v in buf._arrays.items():
        if v.dtype == object:  # infos: empty dicts, as imitation's rollouts give a step without info
            v[...] = [{} for _ in range(len(v))]
    buf._idx, buf._n_data = int(payload["idx"]), int(payload["n_data"])


def continue_csv_log(logger: Any, *, n_rows: int) -> int:
    """Make imitation's top-level `progress.csv` continue its earlier rows instead of starting over.

    SB3's `CSVOutputFormat` opens its file with "w+t" (truncating it). Before it first writes, we
    put back the first `n_rows` rows that were there (one per round: the trainer dumps once a round;
    later ones come from after the checkpoint) and its header, read from the copy `logger` left in
    `.previous`. Returns the number of rows kept. imitation's per-update logs under `raw/` start anew.
    """
    from stable_baselines3.common.logger import CSVOutputFormat

    fmt = next(f for f in logger.default_logger.output_formats if isinstance(f, CSVOutputFormat))
    previous = Path(fmt.file.name).with_name("progress.csv.previous")
    if not previous.is_file():
        return 0
    with open(previous, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return 0
    header, kept = rows[0], rows[1 : n_rows + 1]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *kept])
    fmt.file.write(out.getvalue())
    fmt.file.flush()
    fmt.keys = list(header)  # public attributes of SB3's CSVOutputFormat: later rows extend these columns
    previous.unlink()
    return len(kept)
