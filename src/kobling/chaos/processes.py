"""Kobling processes started, killed with SIGKILL and started again by the chaos run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kobling.engine.runtime import TUNING_ENV


@dataclass
class Process:
    """One ``kobling`` process with a stable executor id, restartable under the same id."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    health_url: str | None = None
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        with self.log.open("ab") as handle:
            handle.write(f"\n--- start {self.starts + 1} at {time.time():.3f}\n".encode())
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "kobling", *self.args],
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye, as when a machine loses power."""
        if self.alive():
            assert self.popen is not None
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            assert self.popen is not None
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until the web server answers (web processes) or the log says it runs (workers)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            if self._ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start within {timeout:.0f} s:\n{self.tail()}")

    def _ready(self) -> bool:
        if self.health_url is None:
            return "is running" in self.log.read_text(errors="replace").rsplit("--- start", 1)[-1]
        try:
            return httpx.get(self.health_url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class Killer:
    """Kills a random victim every ``min_gap``..``max_gap`` seconds, restarts it soon after."""

    victims: list[Process]
    rng: random.Random
    min_gap: float = 4.0
    max_gap: float = 12.0
    kills: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chaos-killer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)

    def _run(self) -> None:
        rng = self.rng
        while not self._stop.wait(rng.uniform(self.min_gap, self.max_gap)):
            victim = rng.choice(self.victims)
            if not victim.alive():
                continue
            victim.kill()
            self.kills += 1
            # Down for a moment, as a supervisor (systemd, Kubernetes) would restart it.
            self._stop.wait(rng.uniform(0.3, 2.0))
            victim.start()


def process_env(
    data_dir: Path, database_url: str | None, public_url: str, tuning: dict[str, Any]
) -> dict[str, str]:
    """The environment of a Kobling process: this one's, with the data directory, the public
    URL, the tuning and the database set (SQLite in ``data_dir`` when ``database_url`` is
    None, whatever the calling environment says)."""
    env = {
        **os.environ,
        "KOBLING_DATA_DIR": str(data_dir),
        "KOBLING_PUBLIC_URL": public_url,
        TUNING_ENV: json.dumps(tuning),
    }
    env.pop("KOBLING_DATABASE_URL", None)
    if database_url is not None:
        env["KOBLING_DATABASE_URL"] = database_url
    return env


@dataclass(frozen=True)
class Deployment:
    """Kobling's processes as a user runs them: all of them, the workers among them (one
    ``kobling run`` counts as a worker) and the URL of the dashboard and webhooks."""

    processes: list[Process]
    workers: list[Process]
    url: str


def deployment(
    *,
    env: dict[str, str],
    port: int,
    logs: Path,
    workers: int,
    separate_web: bool,
    id_prefix: str,
) -> Deployment:
    """One ``kobling run``, or (``separate_web``) ``kobling run --no-worker`` and ``workers``
    ``kobling worker`` processes, each under a stable executor id. Not started."""
    logs.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    health = f"{url}/healthz"
    serve = ["run", "--no-sandbox", "--port", str(port)]
    if not separate_web:
        single = Process(
            "kobling-run",
            serve,
            env | {"KOBLING_EXECUTOR_ID": f"{id_prefix}-1"},
            logs / "kobling-run.log",
            health,
        )
        return Deployment([single], [single], url)
    web = Process(
        "web",
        [*serve, "--no-worker"],
        env | {"KOBLING_EXECUTOR_ID": f"{id_prefix}-web"},
        logs / "web.log",
        health,
    )
    crew = [
        Process(
            f"worker-{n}",
            ["worker"],
            env | {"KOBLING_EXECUTOR_ID": f"{id_prefix}-worker-{n}"},
            logs / f"worker-{n}.log",
        )
        for n in range(1, workers + 1)
    ]
    return Deployment([web, *crew], crew, url)
