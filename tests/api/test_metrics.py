"""Prometheus metrics at ``/metrics`` (what the dialer reports through :mod:`api.metrics`)
and the JSON log lines of ``callbot serve --log-json``."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api import metrics
from api_support import Clock, make_client
from callbot.store.db import make_engine


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    engine = make_engine(f"sqlite:///{tmp_path / 'metrics.db'}")
    try:
        with make_client(engine, Clock()) as made:
            yield made
    finally:
        engine.dispose()


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def test_calls_outcomes_and_lag_are_scraped(client: TestClient) -> None:
    before = scrape(client)
    attempts = ("callbot_call_attempts_total", (("campaign", "901"), ("outcome", "answered")))
    metrics.call_started(901)
    metrics.call_started(901)
    assert scrape(client)[("callbot_active_calls", (("campaign", "901"),))] == 2
    metrics.call_finished(901, "answered")
    metrics.set_dialer_lag(901, 12.5)
    metrics.webhook_delivered(False)
    after = scrape(client)
    assert after[("callbot_active_calls", (("campaign", "901"),))] == 1
    assert after[attempts] == before.get(attempts, 0) + 1
    assert after[("callbot_dialer_lag_seconds", (("campaign", "901"),))] == 12.5
    failed = ("callbot_webhook_deliveries_total", (("result", "failed"),))
    assert after[failed] == before.get(failed, 0) + 1
    metrics.call_finished(901, "busy")
    metrics.set_active_calls(901, -3)
    metrics.set_dialer_lag(901, -1)
    final = scrape(client)
    assert final[("callbot_active_calls", (("campaign", "901"),))] == 0
    assert final[("callbot_dialer_lag_seconds", (("campaign", "901"),))] == 0


def test_metrics_include_the_process_and_need_no_token(client: TestClient) -> None:
    names = {name for name, _ in scrape(client)}
    assert "process_cpu_seconds_total" in names or "python_info" in names
    assert client.get("/metrics").status_code == 200


def test_json_log_lines_carry_extra_fields_and_exceptions() -> None:
    formatter = metrics.JsonFormatter()
    record = logging.LogRecord("callbot.campaign", logging.WARNING, __file__, 1,
                               "attempt %s failed", (17,), None)
    record.call_id = "abc@callbot"
    line = json.loads(formatter.format(record))
    assert line["level"] == "WARNING" and line["logger"] == "callbot.campaign"
    assert line["message"] == "attempt 17 failed" and line["call_id"] == "abc@callbot"
    assert line["time"].endswith("+00:00")
    try:
        raise ValueError("Số điện thoại sai")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    line = json.loads(formatter.format(record))
    assert "ValueError: Số điện thoại sai" in line["exception"]


def test_configure_logging_switches_the_root_handler(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        metrics.configure_logging(json_format=True, level="INFO")
        logging.getLogger("callbot.test").info("ready", extra={"campaign": 3})
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert line["message"] == "ready" and line["campaign"] == 3
        metrics.configure_logging(json_format=False)
        logging.getLogger("callbot.test").info("plain")
        assert capsys.readouterr().err.strip().endswith("callbot.test: plain")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
