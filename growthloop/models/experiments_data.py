"""Fetch an experiment's per-variant statistics from the event store.

An experiment is defined by an exposure event carrying the experiment's name and the variant in
two properties (by default `experiment_exposure` with `experiment` and `variant`). A user
belongs to the variant of their first exposure and is measured from that moment: converted if
the conversion event follows it, value = the sum of the conversion events' `revenue` after it.
Users exposed to more than one variant are left out and counted, since their outcome cannot be
credited to either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from growthloop.models.errors import TOO_FEW, ModelInputError
from growthloop.models.experiment_adjusted import JointStats
from growthloop.models.experiments import SINGLE_VARIANT, SampleStats

MODEL = "the A/B test"


@dataclass(frozen=True)
class ExperimentSpec:
    """Which events define the experiment and its outcome."""

    name: str
    exposure_event: str = "experiment_exposure"
    experiment_property: str = "experiment"
    variant_property: str = "variant"
    conversion_event: str = "purchase"
    control: str = "control"


@dataclass(frozen=True)
class VariantData:
    """One variant's users and the sufficient statistics of its two metrics."""

    variant: str
    conversion: SampleStats
    revenue: SampleStats
    revenue_with_pre_period: JointStats | None = None
    """Revenue after exposure (y) with revenue in the pre-period before it (x), for CUPED."""


@dataclass(frozen=True)
class ExperimentData:
    spec: ExperimentSpec
    variants: tuple[VariantData, ...]
    users_in_several_variants: int

    def variant(self, name: str) -> VariantData:
        for v in self.variants:
            if v.variant == name:
                return v
        known = ", ".join(v.variant for v in self.variants)
        raise ModelInputError(f"variant {name!r} has no exposed users (variants seen: {known})")


def _json_path(name: str) -> str:
    """A JSON path for a top-level property, quoted so that any name is taken literally."""
    return '$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


EXPOSURES_SQL = """
WITH exposures AS (
    SELECT person_id, json_extract_string(properties, ?) AS variant, timestamp
    FROM events
    WHERE event = ? AND json_extract_string(properties, ?) = ? AND timestamp < ?
),
"""
# Assignments registered as `experiment_assignments` (distinct_id, variant, assigned_at) on a
# cursor of their own; ids resolve to persons through person_identities.
ASSIGNMENTS_SQL = """
WITH exposures AS (
    SELECT coalesce(i.person_id, a.distinct_id) AS person_id, a.variant, a.assigned_at AS timestamp
    FROM experiment_assignments a LEFT JOIN person_identities i ON i.distinct_id = a.distinct_id
    WHERE a.assigned_at < ?
),
"""
OUTCOMES_SQL = """
firsts AS (
    SELECT person_id, min(timestamp) AS at, arg_min(variant, timestamp) AS variant,
           count(DISTINCT variant) AS variants
    FROM exposures WHERE variant IS NOT NULL GROUP BY person_id
),
outcomes AS (
    SELECT f.person_id, f.variant, f.variants,
           (count(e.person_id) FILTER (WHERE e.timestamp >= f.at) > 0)::INTEGER AS converted,
           coalesce(sum(e.revenue) FILTER (WHERE e.timestamp >= f.at), 0)::DOUBLE AS value,
           coalesce(sum(e.revenue) FILTER (WHERE e.timestamp < f.at), 0)::DOUBLE AS pre
    FROM firsts f
    LEFT JOIN events e
      ON e.person_id = f.person_id AND e.event = ? AND e.timestamp < ?
     AND e.timestamp >= f.at - to_days(CAST(? AS INTEGER))
    GROUP BY f.person_id, f.variant, f.variants
)
SELECT variant,
       count(*) FILTER (WHERE variants = 1) AS users,
       coalesce(sum(converted) FILTER (WHERE variants = 1), 0) AS conversions,
       coalesce(sum(value) FILTER (WHERE variants = 1), 0) AS value,
       coalesce(sum(value * value) FILTER (WHERE variants = 1), 0) AS value_sq,
       coalesce(sum(pre) FILTER (WHERE variants = 1), 0) AS pre,
       coalesce(sum(pre * pre) FILTER (WHERE variants = 1), 0) AS pre_sq,
       coalesce(sum(pre * value) FILTER (WHERE variants = 1), 0) AS pre_value,
       count(*) FILTER (WHERE variants > 1) AS mixed
FROM outcomes GROUP BY variant ORDER BY variant
"""


def fetch_experiment(
    con: duckdb.DuckDBPyConnection,
    spec: ExperimentSpec,
    until_utc: datetime | None = None,
    *,
    pre_days: int | None = None,
) -> ExperimentData:
    """Users, conversions and revenue per variant for exposures and outcomes before `until_utc`.

    With `pre_days`, each user's revenue in the `pre_days` days before their first exposure is
    fetched too, as the CUPED covariate of revenue.
    """
    until = _check(pre_days, until_utc)
    params = [
        _json_path(spec.variant_property),
        spec.exposure_event,
        _json_path(spec.experiment_property),
        spec.name,
        until,
    ]
    rows = con.execute(
        EXPOSURES_SQL + OUTCOMES_SQL, [*params, *_outcome_params(spec, until, pre_days)]
    ).fetchall()
    source = f"{spec.exposure_event} event with {spec.experiment_property} = {spec.name!r}"
    return _experiment(spec, rows, pre_days, source)


def fetch_experiment_assignments(
    con: duckdb.DuckDBPyConnection,
    spec: ExperimentSpec,
    assignments: Sequence[tuple[str, str, datetime]],
    until_utc: datetime | None = None,
    *,
    pre_days: int | None = None,
) -> ExperimentData:
    """As `fetch_experiment`, with the variants from an assignment table instead of exposure events.

    `assignments` holds (distinct_id, variant, assigned_at UTC) rows, e.g. read from the
    assignment export of a feature-flag service; the earliest row of a person decides.
    """
    until = _check(pre_days, until_utc)
    table = pa.table(
        {
            "distinct_id": pa.array([str(a[0]) for a in assignments], pa.string()),
            "variant": pa.array([str(a[1]) for a in assignments], pa.string()),
            "assigned_at": pa.array([a[2] for a in assignments], pa.timestamp("us")),
        }
    )
    cursor = con.cursor()
    try:
        cursor.register("experiment_assignments", table)
        rows = cursor.execute(
            ASSIGNMENTS_SQL + OUTCOMES_SQL, [until, *_outcome_params(spec, until, pre_days)]
        ).fetchall()
    finally:
        cursor.close()
    return _experiment(spec, rows, pre_days, f"assignment for {spec.name!r}")


def _check(pre_days: int | None, until_utc: datetime | None) -> datetime:
    if pre_days is not None and pre_days < 1:
        raise ModelInputError(f"pre_days must be at least 1 day, got {pre_days}")
    return until_utc or datetime(9999, 1, 1)


def _outcome_params(spec: ExperimentSpec, until: datetime, pre_days: int | None) -> list[object]:
    return [spec.conversion_event, until, pre_days or 0]


def _experiment(
    spec: ExperimentSpec, rows: list[tuple[Any, ...]], pre_days: int | None, source: str
) -> ExperimentData:
    mixed_users = sum(int(r[-1]) for r in rows)
    variants = tuple(
        VariantData(
            v,
            SampleStats(int(n), float(c), float(c)),
            SampleStats(int(n), float(s), float(s2)),
            JointStats(int(n), float(s), float(s2), float(x), float(x2), float(xy))
            if pre_days
            else None,
        )
        for v, n, c, s, s2, x, x2, xy, _ in rows
        if n > 0
    )
    if not variants:
        raise ModelInputError(
            TOO_FEW.format(model=f"{MODEL} {spec.name!r}", minimum=1, unit=source, got=0)
        )
    if len(variants) < 2:
        raise ModelInputError(
            SINGLE_VARIANT.format(
                model=f"{MODEL} {spec.name!r}", got=f"only {variants[0].variant!r}"
            )
        )
    return ExperimentData(spec, variants, mixed_users)
