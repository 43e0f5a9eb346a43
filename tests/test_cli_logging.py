"""The command line's logging set-up (``runnerkit.cli._logging``)."""

from __future__ import annotations

import io
import logging

from runnerkit.cli._logging import job_logging


def test_job_logging_sends_info_to_the_stream_and_restores_the_logger() -> None:

    logger = logging.getLogger("runnerkit.test-job-logging")
    before = (logger.level, logger.propagate, list(logger.handlers))
    stream = io.StringIO()
    with job_logging(logger, stream) as log:
        log.info("hello")
    assert "INFO - hello" in stream.getvalue()
    assert (logger.level, logger.propagate, list(logger.handlers)) == before
