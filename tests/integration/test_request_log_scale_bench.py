"""The request log scale bench runs end to end on a few thousand records (its figures are the
bench's business, not this test's: `make bench`, docs/benchmarks/request_log_scale.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench import request_log_scale

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # fills and folds a database: `make test-all`


def test_the_bench_fills_folds_reads_writes_and_prunes(tmp_path: Path) -> None:
    status = request_log_scale.main(
        [
            "--quick",
            "--rows",
            "3000",
            "--fold-days",
            "90",
            "--runs",
            "2",
            "--write-seconds",
            "1",
            "--out",
            str(tmp_path),
        ]
    )

    assert status == 0
    results = json.loads((tmp_path / "request_log_scale_quick.json").read_text())
    assert results["fill"]["rows"] == 3000
    assert results["fold"]["folded"] == 3000
    assert {q["query"] for q in results["queries"]} >= {
        "org admin: newest page",
        "request detail (by request_id)",
        "analytics org: team x model per day, 30 days",
        "forecast (team, 4 weeks)",
    }
    assert all(q["runs"] == 2 for q in results["queries"])
    assert results["writes"]["records"] > 0
    assert results["prune"]["rows"] > 0
    assert "# The request log at scale" in (tmp_path / "request_log_scale_quick.md").read_text()
