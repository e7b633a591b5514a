"""The `growthloop import` and `status` commands as a user runs them: a real process."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GROWTHLOOP_DATA_DIR=str(data_dir), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "growthloop", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


def test_import_reports_summary_errors_and_progress(tmp_path: Path) -> None:
    data = tmp_path / "data"
    small = tmp_path / "orders.csv"
    small.write_text(
        "id,buyer,paid_at,total\nA1,u1,2026-02-01 10:00,99.90\nA2,u2,2026-02-01 11:00,oops\n"
    )
    maps = ["--map", "order_id=id", "--map", "distinct_id=buyer", "--map", "timestamp=paid_at"]
    maps += ["--map", "amount=total"]
    bad = run("import", "orders", str(small), *maps, data_dir=data)
    assert bad.returncode == 1
    assert f"{small}:3: column 'amount': 'oops' is not a number" in bad.stderr
    skipped = run("import", "orders", str(small), *maps, "--skip-bad", data_dir=data)
    assert skipped.returncode == 0, skipped.stderr
    assert "2 rows read, 1 stored, 0 already present, 1 skipped" in skipped.stdout
    assert "rejected rows with reasons:" in skipped.stdout

    wrong_map = run("import", "orders", str(small), "--map", "price", data_dir=data)
    assert wrong_map.returncode == 2 and "write it as TARGET=SOURCE" in wrong_map.stderr

    # A file over the progress threshold shows a progress bar, then the summary.
    big = tmp_path / "events.csv"
    with open(big, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["event", "distinct_id", "timestamp", "$current_url"])
        for i in range(120_000):
            w.writerow(
                [
                    "$pageview",
                    f"d{i % 997}",
                    f"2026-02-{1 + i % 27:02d} 08:00:{i % 60:02d}",
                    f"https://shop.example.cn/p/{i % 50}?utm_source=douyin",
                ]
            )
    assert big.stat().st_size > 4 << 20
    loaded = run("import", "events", str(big), data_dir=data)
    assert loaded.returncode == 0, loaded.stderr
    assert "reading events.csv" in loaded.stdout
    assert "120,000 rows read, 120,000 stored" in loaded.stdout
    status = run("status", data_dir=data)
    assert status.returncode == 0
    assert "120,000" in status.stdout and "orders" in status.stdout
