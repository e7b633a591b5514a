"""RFM scoring and segments against a brute-force, one-customer-at-a-time implementation."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthloop.ingest.files import import_files
from growthloop.models import rfm
from growthloop.models.errors import ModelInputError
from growthloop.models.rfm_data import fetch_rfm
from growthloop.workspace import Workspace

# --- the reference: plain Python, written from the definitions ---------------------------------


def ref_percentile(values: list[float], pct: float) -> float:
    """Percentile by linear interpolation between the sorted values (positions 0..n-1)."""
    s = sorted(values)
    pos = (len(s) - 1) * pct / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def ref_score(value: float, values: list[float], lower_is_better: bool) -> int:
    cuts = [ref_percentile(values, p) for p in (20, 40, 60, 80)]
    if lower_is_better:
        return 1 + sum(1 for c in cuts if value < c)
    return 1 + sum(1 for c in cuts if value > c)


def ref_rf_segment(r: int, f: int) -> str:
    if r <= 2:
        return "hibernating" if f <= 2 else ("at_risk" if f <= 4 else "cant_lose")
    if r == 3:
        return "about_to_sleep" if f <= 2 else ("need_attention" if f == 3 else "loyal")
    if f >= 4:
        return "loyal" if r == 4 else "champions"
    if f == 1:
        return "promising" if r == 4 else "new"
    return "potential_loyalists"


def ref_value_segment(
    rd: float, f: float, m: float, rs: list[float], fs: list[float], ms: list[float], how: str
) -> str:
    def centre(xs: list[float]) -> float:
        if how == "mean":
            return sum(xs) / len(xs)
        return ref_percentile(xs, 50)

    r_high, f_high, m_high = rd < centre(rs), f > centre(fs), m > centre(ms)
    prefix = "important" if m_high else "general"
    kind = {
        (True, True): "value",
        (True, False): "development",
        (False, True): "retention",
        (False, False): "winback",
    }[(r_high, f_high)]
    return f"{prefix}_{kind}"


customers = st.lists(
    st.tuples(
        st.integers(0, 120),
        st.integers(1, 12),
        st.floats(0, 5000, allow_nan=False).map(lambda x: round(x, 2)),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(customers, st.sampled_from(["mean", "median"]))
def test_scores_and_segments_match_brute_force(
    rows: list[tuple[int, int, float]], how: str
) -> None:
    rs = [float(r) for r, _, _ in rows]
    fs = [float(f) for _, f, _ in rows]
    ms = [m for _, _, m in rows]
    data = rfm.RfmInput.of(rs, fs, ms)
    scores = rfm.score(data)
    segs = rfm.rf_segments(scores.r, scores.f)
    values = rfm.value_segments(data, how)  # type: ignore[arg-type]
    for i, (r, f, m) in enumerate(zip(rs, fs, ms, strict=True)):
        er = ref_score(r, rs, lower_is_better=True)
        ef = ref_score(f, fs, lower_is_better=False)
        em = ref_score(m, ms, lower_is_better=False)
        assert (scores.r[i], scores.f[i], scores.m[i]) == (er, ef, em)
        assert segs[i] == ref_rf_segment(er, ef)
        assert values[i] == ref_value_segment(r, f, m, rs, fs, ms, how)


def test_every_rf_cell_has_a_segment_and_every_segment_a_cell() -> None:
    r, f = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    segs = rfm.rf_segments(r.ravel(), f.ravel())
    assert set(segs) == set(rfm.RF_SEGMENTS)
    assert all(
        s == ref_rf_segment(int(a), int(b))
        for s, a, b in zip(segs, r.ravel(), f.ravel(), strict=True)
    )


def test_recent_customers_score_high_and_ties_share_a_score() -> None:
    data = rfm.RfmInput.of([0, 1, 2, 3, 50, 50, 90, 100, 200, 365], [1] * 10, [10.0] * 10)
    scores = rfm.score(data)
    assert scores.r[0] == 5 and scores.r[-1] == 1
    assert scores.r[4] == scores.r[5]
    assert list(scores.r) == sorted(scores.r, reverse=True)
    # Everyone bought once for the same amount: one score for all, no random split.
    assert set(scores.f) == {1} and set(scores.m) == {1}


def test_segment_summary_sizes_and_revenue_shares() -> None:
    rng = np.random.default_rng(4)
    segs = rng.choice(np.array(rfm.RF_SEGMENTS[:6]), 500)
    money = rng.gamma(2, 50, 500)
    rows = rfm.segment_summary(segs, money, rfm.RF_SEGMENTS)
    assert [r.segment for r in rows] == list(rfm.RF_SEGMENTS)
    assert sum(r.customers for r in rows) == 500
    assert sum(r.customer_share for r in rows) == pytest.approx(1)
    assert sum(r.revenue_share for r in rows) == pytest.approx(1)
    for row in rows:
        expected = sum(m for s, m in zip(segs, money, strict=True) if s == row.segment)
        assert row.revenue == pytest.approx(expected)
    assert rows[-1].customers == 0 and rows[-1].revenue_share == 0


def test_transition_counts_match_a_loop() -> None:
    rnd = random.Random(7)
    before = {f"c{i}": rnd.choice(rfm.RF_SEGMENTS) for i in range(300)}
    after = {f"c{i}": rnd.choice(rfm.RF_SEGMENTS) for i in range(100, 420)}
    t = rfm.transitions(
        list(before), list(before.values()), list(after), list(after.values()), rfm.RF_SEGMENTS
    )
    assert t.rows[-1] == rfm.NOT_A_CUSTOMER
    for i, a in enumerate(t.rows):
        for j, b in enumerate(t.columns):
            ids = before.keys() | after.keys()
            n = sum(
                1
                for c in ids
                if before.get(c, rfm.NOT_A_CUSTOMER) == a and after.get(c, rfm.NOT_A_CUSTOMER) == b
            )
            assert t.counts[i, j] == n
    assert t.counts[-1, -1] == 0
    assert t.counts[:-1, -1].sum() == 100  # c0..c99 are gone at the second date
    shares = t.shares()
    np.testing.assert_allclose(shares[:-1].sum(axis=1), 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([], [], []), "recency_days is empty"),
        (([1, 2], [1], [3, 4]), "different lengths"),
        (([1, -2], [1, 1], [3, 4]), "recency_days has negative values (first at index 1)"),
        (
            ([1, 2], [1, float("nan")], [3, 4]),
            "frequency has a missing or infinite value at index 1",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message(args: tuple[list[float], ...], message: str) -> None:
    with pytest.raises(ModelInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        rfm.RfmInput.of(*args)


def test_unknown_threshold_and_segment_are_refused() -> None:
    data = rfm.RfmInput.of([1], [1], [1])
    with pytest.raises(ModelInputError, match="threshold must be 'mean' or 'median'"):
        rfm.value_segments(data, "mode")  # type: ignore[arg-type]
    with pytest.raises(ModelInputError, match="segments must be one of"):
        rfm.transitions(["a"], ["gold"], ["a"], ["new"], rfm.RF_SEGMENTS)


def test_fetch_rfm_from_the_event_store(workspace: Workspace, tmp_path: Path) -> None:
    """Recency counts local days (Asia/Shanghai), orders after the reference date are ignored."""
    rnd = random.Random(3)
    orders = []
    start = datetime(2026, 1, 1, 0, 0)
    for i in range(400):
        ts = start + timedelta(minutes=rnd.randrange(0, 60 * 24 * 120))
        orders.append((f"o{i}", f"p{rnd.randrange(40)}", ts, round(rnd.uniform(5, 300), 2)))
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,distinct_id,timestamp,amount\n"
        + "".join(f"{o},{p},{t.isoformat()}Z,{a}\n" for o, p, t, a in orders)
    )
    import_files(workspace, "orders", [path], timezone="Asia/Shanghai")
    as_of = date(2026, 3, 15)
    got = fetch_rfm(workspace.events().con, workspace.settings.tz, as_of)
    expected: dict[str, tuple[int, int, float]] = {}
    for _, person, ts, amount in orders:
        day = (ts + timedelta(hours=8)).date()
        if day > as_of:
            continue
        last, n, total = expected.get(person, (10**9, 0, 0.0))
        expected[person] = (min(last, (as_of - day).days), n + 1, total + amount)
    assert list(got.person_ids) == sorted(expected)
    for i, person in enumerate(got.person_ids):
        r, n, total = expected[person]
        assert (got.data.recency_days[i], got.data.frequency[i]) == (r, n)
        assert got.data.monetary[i] == pytest.approx(total)
    with pytest.raises(ModelInputError, match="needs at least 1 order up to 2025-01-01"):
        fetch_rfm(workspace.events().con, workspace.settings.tz, date(2025, 1, 1))


def test_segment_members_are_the_ids_in_that_segment() -> None:
    ids = ["a", "b", "c", "d"]
    segs = ["cant_lose", "new", "cant_lose", "loyal"]
    assert rfm.segment_members(ids, segs, "cant_lose") == ("a", "c")
    assert rfm.segment_members(ids, segs, "champions") == ()
    with pytest.raises(ModelInputError, match="different lengths"):
        rfm.segment_members(ids, segs[:2], "new")
