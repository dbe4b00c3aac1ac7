"""Fixtures for the interop tests: real peers on loopback, stopped by PID after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .media import make_speech_wav
from .peers import PeerSet

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


@pytest.fixture
def peers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PeerSet]:
    """Peers started by the test; all stopped at teardown, their logs printed if it failed."""
    peer_set = PeerSet(tmp_path)
    try:
        yield peer_set
    finally:
        report = request.node.stash.get(_CALL_REPORT, None)
        if report is not None and report.failed:
            print(peer_set.describe())
        peer_set.close()


@pytest.fixture(scope="session")
def callee_prompt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Speech the callee (baresip) plays, padded with silence to outlast any test call."""
    path = tmp_path_factory.mktemp("prompts") / "callee.wav"
    return make_speech_wav(path, "Hello, this is the test callee. Please hold the line.", pad_seconds=60)


@pytest.fixture(scope="session")
def caller_prompt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Speech our dialer plays into the call (--play)."""
    path = tmp_path_factory.mktemp("prompts") / "caller.wav"
    return make_speech_wav(path, "Good morning. This is an automated call from the test dialer.", pad_seconds=0.5)
