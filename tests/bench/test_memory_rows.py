"""The memory figure's table rows: the first sample past each checkpoint, and a stopped run's
last sample."""

from __future__ import annotations

from bench.memory import checkpoint_rows

MIB = 1024  # samples hold KiB, rows MiB


def _result(samples: list[tuple[float, int, int, int, int]], stopped: bool) -> dict[str, object]:
    return {
        "database": "SQLite",
        "orders": 300,  # checkpoints 100, 200, 300
        "started": 1000.0,
        "samples": samples,
        "stopped": stopped,
    }


# (time, booked, Kobling VmRSS, Kobling VmHWM, bench VmRSS), in KiB
SAMPLES = [
    (1010.0, 40, 140 * MIB, 140 * MIB, 100 * MIB),
    (1030.0, 120, 143 * MIB, 143 * MIB, 100 * MIB),
    (1095.0, 210, 146 * MIB, 147 * MIB, 101 * MIB),
    (1100.0, 230, 146 * MIB, 147 * MIB, 101 * MIB),
]


def test_each_checkpoint_takes_the_first_sample_past_it() -> None:
    rows = checkpoint_rows(_result(SAMPLES, stopped=False))
    assert rows == [
        ["SQLite", 100, "30 s", 143, 143, 100],
        ["SQLite", 200, "1 min 35 s", 146, 147, 101],
    ]


def test_a_run_stopped_by_hand_also_shows_its_last_sample() -> None:
    rows = checkpoint_rows(_result(SAMPLES, stopped=True))
    assert rows[-1] == ["SQLite", 230, "1 min 40 s", 146, 147, 101]
    assert len(rows) == 3
    # Stopped right on a checkpoint's sample: not shown twice.
    assert len(checkpoint_rows(_result(SAMPLES[:3], stopped=True))) == 2
