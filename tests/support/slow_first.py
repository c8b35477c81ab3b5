"""Under pytest-xdist: the longest tests first, so none of them starts last and runs alone.

`make test` runs ``pytest -n N --maxschedchunk 1``: the controller hands each worker one or
two tests at a time, in collection order. This plugin (registered by ``tests/conftest.py``)
changes that order, in the workers only (a run without ``-n`` keeps the collection order):

* every test's duration (setup + call + teardown) is kept in pytest's cache
  (``.pytest_cache``, key ``kobling/durations``) at the end of each run, merged with the
  durations from earlier runs;
* the controller reads them once and passes the same copy to every worker (xdist refuses to
  run when the workers' collections differ, so they must not each read a cache that another
  run might be rewriting);
* a worker puts first the tests that took at least ``LONG_S`` last time, longest first, and a
  test marked ``slow`` that has no duration yet (a new one) before those; the rest keep their
  collection order (tests of one module next to each other).

Without a cache (a fresh checkout, after ``make clean``) only the ``slow`` marker orders.
"""

from __future__ import annotations

from typing import Any

import pytest

CACHE_KEY = "kobling/durations"
WORKERINPUT_KEY = "kobling_durations"
LONG_S = 1.0


class SlowFirst:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.is_worker = hasattr(config, "workerinput")
        self._cached: dict[str, float] | None = None
        self.measured: dict[str, float] = {}
        self.completed: set[str] = set()

    def cached_durations(self) -> dict[str, float]:
        """The durations from earlier runs (read once)."""
        if self._cached is None:
            cache = getattr(self.config, "cache", None)
            found = cache.get(CACHE_KEY, {}) if cache is not None else {}
            self._cached = {
                str(k): float(v) for k, v in (found if isinstance(found, dict) else {}).items()
            }
        return self._cached

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Controller: give each worker the same durations."""
        node.workerinput[WORKERINPUT_KEY] = self.cached_durations()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Worker: longest first."""
        if not self.is_worker:
            return
        workerinput: dict[str, Any] = self.config.workerinput  # type: ignore[attr-defined]
        durations: dict[str, float] = workerinput.get(WORKERINPUT_KEY) or {}

        def key(numbered: tuple[int, pytest.Item]) -> tuple[int, float, int]:
            index, item = numbered
            known = durations.get(item.nodeid)
            if known is None and item.get_closest_marker("slow") is not None:
                return (0, 0.0, index)  # new and slow: first of all
            if known is not None and known >= LONG_S:
                return (1, -known, index)
            return (2, 0.0, index)

        items[:] = [item for _, item in sorted(enumerate(items), key=key)]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Controller, or a run without xdist: add up each test's phases."""
        if self.is_worker:
            return
        self.measured[report.nodeid] = self.measured.get(report.nodeid, 0.0) + report.duration
        if report.when == "call" and not report.skipped:
            self.completed.add(report.nodeid)

    def pytest_sessionfinish(self) -> None:
        """Controller, or a run without xdist: merge this run's durations into the cache.

        Tests that were skipped, or did not get to run, keep their earlier duration.
        """
        cache = getattr(self.config, "cache", None)
        if self.is_worker or cache is None or not self.completed:
            return
        merged = dict(self.cached_durations())
        merged.update({nodeid: round(self.measured[nodeid], 2) for nodeid in self.completed})
        cache.set(CACHE_KEY, merged)
