"""Options every command shares (kept apart so sub-command modules need not import cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="KOBLING_DATA_DIR",
        help="Where Kobling keeps its databases and key (default ./var)",
    ),
]
