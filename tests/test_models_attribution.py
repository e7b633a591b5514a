"""Attribution credit against brute-force computations written from the definitions."""

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from growthloop.ingest.files import import_files
from growthloop.models.attribution import (
    MODELS,
    NO_CONVERSIONS,
    TouchPath,
    attribute,
    conversion_probability,
)
from growthloop.models.attribution_data import fetch_paths
from growthloop.models.errors import ModelInputError
from growthloop.workspace import Workspace

CHANNELS = ["baidu", "douyin", "wechat", "Direct", "edm"]


def random_paths(seed: int, n: int = 300) -> list[TouchPath]:
    rnd = random.Random(seed)
    paths = []
    for _ in range(n):
        k = rnd.randint(1, 6)
        ages = sorted((round(rnd.uniform(0, 30), 2) for _ in range(k)), reverse=True)
        chans = tuple(rnd.choice(CHANNELS[: 3 + seed % 3]) for _ in range(k))
        converted = rnd.random() < 0.4
        paths.append(
            TouchPath(chans, tuple(ages), converted, rnd.randint(10, 500) if converted else 0.0)
        )
    return paths


def brute_rules(paths: list[TouchPath], half_life: float) -> dict[str, dict[str, list[float]]]:
    """{model: {channel: [conversions, revenue]}} by looping over each touch of each path."""
    out: dict[str, dict[str, list[float]]] = {
        m: defaultdict(lambda: [0.0, 0.0]) for m in MODELS[:-1]
    }
    for p in paths:
        if not p.converted:
            continue
        n = len(p.channels)
        decay = [0.5 ** (a / half_life) for a in p.ages_days]
        for i, c in enumerate(p.channels):
            shares = {
                "first_touch": 1.0 if i == 0 else 0.0,
                "last_touch": 1.0 if i == n - 1 else 0.0,
                "linear": 1.0 / n,
                "time_decay": decay[i] / sum(decay),
                "position_based": (
                    1.0 if n == 1 else 0.5 if n == 2 else 0.4 if i in (0, n - 1) else 0.2 / (n - 2)
                ),
            }
            for m, s in shares.items():
                out[m][c][0] += s
                out[m][c][1] += s * p.value
    return out


def iterated_conversion(paths: list[TouchPath], removed: str | None) -> float:
    """P(conversion) by iterating the chain's probabilities (no linear algebra)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for p in paths:
        states = ["(start)", *p.channels, "(conversion)" if p.converted else "(null)"]
        for a, b in itertools.pairwise(states):
            counts[a]["(null)" if b == removed else b] += 1
    value = defaultdict(float, {"(conversion)": 1.0})
    for _ in range(3000):
        for state, nexts in counts.items():
            if state == removed:
                continue
            total = sum(nexts.values())
            value[state] = sum(n * value[b] for b, n in nexts.items()) / total
    return value["(start)"]


@pytest.mark.parametrize("seed", range(4))
def test_every_model_matches_brute_force(seed: int) -> None:
    paths = random_paths(seed)
    half_life = [7.0, 3.0, 14.0, 1.0][seed]
    got = attribute(paths, half_life)
    want = brute_rules(paths, half_life)
    converting = [p for p in paths if p.converted]
    for m in MODELS[:-1]:
        for i, c in enumerate(got.channels):
            assert got.conversions[m][i] == pytest.approx(want[m][c][0])
            assert got.revenue[m][i] == pytest.approx(want[m][c][1])
    base = iterated_conversion(paths, None)
    effects = [1 - iterated_conversion(paths, c) / base for c in got.channels]
    np.testing.assert_allclose(got.removal_effects, effects, rtol=1e-6)
    np.testing.assert_allclose(
        got.conversions["markov"], np.array(effects) / sum(effects) * len(converting), rtol=1e-6
    )
    for m in MODELS:
        assert got.conversions[m].sum() == pytest.approx(len(converting))
        assert got.revenue[m].sum() == pytest.approx(sum(p.value for p in converting))


def test_chain_probability_matches_iteration() -> None:
    paths = random_paths(7)
    channels = sorted({c for p in paths for c in p.channels})
    assert conversion_probability(paths, channels) == pytest.approx(
        iterated_conversion(paths, None), rel=1e-9
    )
    assert conversion_probability(paths, channels, "douyin") == pytest.approx(
        iterated_conversion(paths, "douyin"), rel=1e-9
    )


def test_textbook_example() -> None:
    """C1 > C2 > C3 converts, C1 fails, C2 > C3 fails.

    P(conversion) = (2/3 x 1/2 + 1/3) x 1/2 = 1/3; without C1 only start > C2 > C3 remains,
    1/3 x 1/2 = 1/6 (removal effect 0.5); without C2 or C3 nothing converts (1).
    """
    paths = [
        TouchPath(("C1", "C2", "C3"), (3, 2, 1), True, 90.0),
        TouchPath(("C1",), (0,), False),
        TouchPath(("C2", "C3"), (1, 0), False),
    ]
    got = attribute(paths, half_life_days=1.0)
    assert conversion_probability(paths, got.channels) == pytest.approx(1 / 3)
    np.testing.assert_allclose(got.removal_effects, [0.5, 1, 1])
    np.testing.assert_allclose(got.revenue["markov"], [18, 36, 36])
    np.testing.assert_allclose(got.revenue["position_based"], [36, 18, 36])
    np.testing.assert_allclose(got.conversions["time_decay"], np.array([0.125, 0.25, 0.5]) / 0.875)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ModelInputError, match="nothing to attribute"):
        attribute([TouchPath(("a",), (0,), False)])
    assert NO_CONVERSIONS
    with pytest.raises(ModelInputError, match="at least one touch"):
        TouchPath((), (), True)
    with pytest.raises(ModelInputError, match="touches come before the conversion"):
        TouchPath(("a",), (-1,), True)
    with pytest.raises(ModelInputError, match="half_life_days must be > 0"):
        attribute([TouchPath(("a",), (0,), True)], 0)


def test_paths_from_the_store(workspace: Workspace, tmp_path: Path) -> None:
    """Sessions within 30 days before an order and after the previous one; the rest do not convert."""

    def visit(user: str, when: str, source: str | None) -> dict[str, object]:
        url = "https://shop.example.cn/" + (
            f"?utm_source={source}&utm_medium=cpc" if source else ""
        )
        return {"event": "$pageview", "distinct_id": user, "timestamp": when, "url": url}

    events = [
        visit("a", "2026-02-20T02:00:00Z", "zhihu"),  # more than 30 days before a's first order
        visit("a", "2026-03-10T02:00:00Z", "baidu"),
        visit("a", "2026-03-12T02:00:00Z", None),  # Direct
        visit("a", "2026-03-25T02:00:00Z", "douyin"),  # after the first order
        visit("b", "2026-03-15T02:00:00Z", "douyin"),  # never buys
        visit("b", "2026-03-16T02:00:00Z", "douyin"),
    ]
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    import_files(workspace, "events", [path], timezone="Asia/Shanghai")
    orders = tmp_path / "o.csv"
    orders.write_text(
        "order_id,distinct_id,timestamp,amount\n"
        "o1,a,2026-03-22T02:00:00Z,100\n"  # path baidu, Direct
        "o2,a,2026-03-26T02:00:00Z,50\n"  # path douyin only
        "o3,c,2026-03-26T02:00:00Z,20\n"  # no sessions at all
    )
    import_files(workspace, "orders", [orders], timezone="Asia/Shanghai")
    got = fetch_paths(
        workspace.events().con, workspace.settings.tz, date(2026, 3, 1), date(2026, 3, 31)
    )
    assert got.orders_without_touches == 1
    by_value = {p.value: p for p in got.paths if p.converted}
    assert by_value[100.0].channels == ("baidu", "Direct") and by_value[100.0].ages_days == (
        12.0,
        10.0,
    )
    assert by_value[50.0].channels == ("douyin",) and by_value[50.0].ages_days == (1.0,)
    [lost] = [p for p in got.paths if not p.converted]
    assert lost.channels == ("douyin", "douyin")
    # Non-converting paths are aged to the end of the period: 2026-04-01 00:00 in Shanghai,
    # 2026-03-31 16:00 UTC.
    assert lost.ages_days == pytest.approx((16 + 14 / 24, 15 + 14 / 24))
