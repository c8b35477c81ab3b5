"""Unfinished workflows of another application version are reported when a process starts."""

from __future__ import annotations

import logging

import pytest
from dbos import SetEnqueueOptions

from kobling.engine import launch, polling
from kobling.engine.queues import WORK_QUEUE, queue
from kobling.engine.runtime import APPLICATION_VERSION
from kobling.engine.workflows import unfinished
from tests.engine.conftest import Engine

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_work_left_by_an_older_version_is_reported(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    # A poll queued by a process of an older version: no worker of this version takes it.
    with SetEnqueueOptions(app_version="kobling-workflows-0"):
        queue(WORK_QUEUE).enqueue(polling.poll_now, engine.connection_id)
    counts = unfinished(engine.rt)
    assert sum(n for (_e, _s, v), n in counts.items() if v == "kobling-workflows-0") == 1

    with caplog.at_level(logging.WARNING, logger="kobling.engine"):
        launch._warn_of_other_versions(engine.rt)
    [record] = [r for r in caplog.records if "unfinished workflows" in r.getMessage()]
    assert record.getMessage().startswith("1 unfinished workflows belong to kobling-workflows-0")
    assert APPLICATION_VERSION in record.getMessage()
