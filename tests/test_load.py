"""Concurrent browser sessions searching and labelling: no errors, no lost judgments (small scale here;
`python -m benchmarks.load` runs 20 sessions and reports the times)."""
from pathlib import Path

import pytest

from benchmarks.load import measure
from benchmarks.servers import CHROMIUM


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_concurrent_sessions_lose_nothing():
    result = measure(sessions=4, rounds=2, items=40, client="browser")
    assert result["errors"] == 0, result["error_examples"]
    assert result["interactions"] == 4 * 2 * 2
    assert result["judgments_stored"] == result["judgments_expected"] == 8


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_two_app_processes_share_one_chroma_server_and_one_label_store():
    result = measure(sessions=4, rounds=2, items=40, app_processes=2, client="browser")
    assert result["errors"] == 0, result["error_examples"]
    assert len(result["server_cpu_s_per_process"]) == 2 and min(result["server_cpu_s_per_process"]) > 0  # both served
    # judgments made through both processes land in the one SQLite label store
    assert result["judgments_stored"] == result["judgments_expected"] == 8


@pytest.mark.slow
def test_twenty_sessions_at_once_over_the_apps_websocket_lose_nothing():
    """The load goal's concurrency (20 sessions acting at once), without browsers: the frontend's own messages."""
    result = measure(sessions=20, rounds=2, items=40, client="protocol")
    assert result["errors"] == 0, result["error_examples"]
    assert result["interactions"] == 20 * 2 * 2
    assert result["judgments_stored"] == result["judgments_expected"] == 40
