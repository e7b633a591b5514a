"""Specs of every analysis kind that the backend suite runs on DuckDB and on Spark (small demo,
now = 2026-11-24 00:00 UTC; the demo's events run from 2026-08-25 to 2026-11-23)."""

from __future__ import annotations

from typing import Any

PLATFORM = {"key": "platform"}
PERSON_PLATFORM = {"key": "platform", "type": "person"}
BUYERS = {
    "type": "behaviour",
    "event": {"event": "purchase"},
    "min_count": 1,
    "days": 60,
}
SHOPPERS = {
    "match": "any",
    "conditions": [
        BUYERS,
        {"type": "person", "filter": {"key": "city", "type": "person", "value": "Shanghai"}},
    ],
}
LAST_30 = {"date_from": "-30d"}
NOVEMBER = {"date_from": "2026-11-01", "date_to": "2026-11-23"}
SHOP_FUNNEL = [
    {"event": "product_view"},
    {"event": "add_to_cart"},
    {"event": "checkout"},
    {"event": "purchase"},
]

SPECS: dict[str, dict[str, Any]] = {
    "trends_total_compare": {
        "kind": "trends",
        "series": [{"math": "total"}],
        "interval": "day",
        "date_range": LAST_30,
        "compare": True,
    },
    "trends_unique_breakdown_person": {
        "kind": "trends",
        "series": [{"event": "$pageview", "math": "unique_users"}],
        "interval": "week",
        "date_range": {"date_from": "-60d"},
        "breakdown": {"property": PERSON_PLATFORM, "limit": 3},
    },
    "trends_property_maths_formula": {
        "kind": "trends",
        "series": [
            {"event": "product_view", "math": "unique_users"},
            {"event": "purchase", "math": "sum", "property": {"key": "revenue"}},
            {"event": "purchase", "math": "avg", "property": {"key": "revenue"}},
            {"event": "purchase", "math": "median", "property": {"key": "revenue"}},
            {"event": "purchase", "math": "p90", "property": {"key": "revenue"}},
            {"event": "purchase", "math": "min", "property": {"key": "revenue"}},
            {"event": "purchase", "math": "max", "property": {"key": "revenue", "type": "column"}},
        ],
        "interval": "week",
        "date_range": {"date_from": "-90d"},
        "formula": "B / A",
    },
    "trends_hour_breakdown_column_filters": {
        "kind": "trends",
        "series": [
            {
                "event": "$pageview",
                "filters": [
                    {"key": "path", "type": "column", "operator": "regex", "value": "^/product/"}
                ],
            }
        ],
        "interval": "hour",
        "date_range": {"date_from": "-2d"},
        "breakdown": {"property": {"key": "channel", "type": "column"}, "limit": 4},
        "filters": [{"key": "$os", "operator": "not_in", "value": ["Windows", "macOS"]}],
    },
    "trends_month_breakdown_number_text": {
        "kind": "trends",
        "series": [{"event": "purchase", "math": "total"}],
        "interval": "month",
        "date_range": {"date_from": "2026-08-01", "date_to": "2026-11-23"},
        "breakdown": {"property": {"key": "revenue"}, "limit": 5},
        "filters": [
            {"key": "revenue", "operator": ">=", "value": 100},
            {"key": "coupon", "operator": "is_set"},
        ],
    },
    "trends_segment_filter": {
        "kind": "trends",
        "series": [{"math": "unique_users"}, {"event": "checkout", "math": "total"}],
        "interval": "day",
        "date_range": LAST_30,
        "filters": [{"type": "segment", "segment": SHOPPERS}],
        "breakdown": {"property": PLATFORM},
    },
    "funnel_ordered_breakdown_trend": {
        "kind": "funnel",
        "steps": SHOP_FUNNEL,
        "window": {"value": 1, "unit": "day"},
        "date_range": NOVEMBER,
        "breakdown": {"property": PLATFORM},
        "trend_interval": "week",
    },
    "funnel_ordered_last_touch_step_filters": {
        "kind": "funnel",
        "steps": [
            {
                "event": "$pageview",
                "filters": [
                    {"key": "path", "type": "column", "operator": "contains", "value": "product"}
                ],
            },
            {"event": "add_to_cart"},
            {"event": "purchase", "filters": [{"key": "revenue", "operator": ">", "value": 200}]},
        ],
        "window": {"value": 3, "unit": "day"},
        "date_range": LAST_30,
        "breakdown": {"property": {"key": "utm_source", "type": "column"}, "limit": 4},
        "attribution": "last_touch",
    },
    "funnel_strict": {
        "kind": "funnel",
        "mode": "strict",
        "steps": [{"event": "add_to_cart"}, {"event": "checkout"}, {"event": "purchase"}],
        "window": {"value": 2, "unit": "hour"},
        "date_range": NOVEMBER,
        "breakdown": {"property": PERSON_PLATFORM},
        "attribution": "step",
        "attribution_step": 2,
    },
    "funnel_unordered": {
        "kind": "funnel",
        "mode": "unordered",
        "steps": [{"event": "checkout"}, {"event": "product_view"}, {"event": "add_to_cart"}],
        "window": {"value": 12, "unit": "hour"},
        "date_range": NOVEMBER,
        "breakdown": {"property": PLATFORM},
    },
    "funnel_exclusions_breakdown": {
        "kind": "funnel",
        "steps": SHOP_FUNNEL,
        "window": {"value": 2, "unit": "day"},
        "date_range": NOVEMBER,
        "exclusions": [
            {"event": "content_view", "from_step": 1, "to_step": 3},
            {
                "event": "$pageview",
                "filters": [{"key": "path", "type": "column", "value": "/cart"}],
                "from_step": 3,
            },
        ],
        "breakdown": {"property": PLATFORM},
    },
    "funnel_negated_segment": {
        "kind": "funnel",
        "steps": [{"event": "signup"}, {"event": "purchase"}],
        "window": {"value": 14, "unit": "day"},
        "date_range": {"date_from": "-90d"},
        "filters": [{"type": "segment", "segment": {"conditions": [BUYERS]}, "negate": True}],
    },
    "retention_day_recurring": {
        "kind": "retention",
        "start_event": {"event": "$pageview"},
        "period": "day",
        "periods": 7,
        "date_range": {"date_from": "-14d"},
    },
    "retention_week_first_time_unbounded_breakdown": {
        "kind": "retention",
        "start_event": {"event": "signup"},
        "return_event": {"event": "purchase"},
        "period": "week",
        "periods": 6,
        "retention_type": "on_or_after",
        "cohort_type": "first_time",
        "date_range": {"date_from": "-60d"},
        "breakdown": {"property": PERSON_PLATFORM, "limit": 3},
    },
    "retention_month": {
        "kind": "retention",
        "period": "month",
        "periods": 3,
        "date_range": {"date_from": "2026-08-01", "date_to": "2026-11-23"},
        "filters": [{"key": "channel", "type": "column", "operator": "!=", "value": "Direct"}],
    },
    "lifecycle_day": {
        "kind": "lifecycle",
        "event": {"event": "$pageview"},
        "interval": "day",
        "date_range": LAST_30,
    },
    "lifecycle_week": {
        "kind": "lifecycle",
        "interval": "week",
        "date_range": {"date_from": "-60d"},
        "filters": [{"type": "segment", "segment": SHOPPERS}],
    },
    "stickiness_day": {"kind": "stickiness", "interval": "day", "date_range": LAST_30},
    "stickiness_week": {
        "kind": "stickiness",
        "event": {"event": "product_view"},
        "interval": "week",
        "date_range": {"date_from": "-56d"},
    },
    "distribution": {
        "kind": "distribution",
        "event": {"event": "product_view"},
        "date_range": LAST_30,
    },
    "interval": {
        "kind": "interval",
        "from_event": {"event": "product_view"},
        "to_event": {"event": "purchase"},
        "date_range": LAST_30,
    },
    "paths_from_start_cleaned": {
        "kind": "paths",
        "start": "/",
        "depth": 4,
        "events": ["$pageview", "add_to_cart", "purchase"],
        "cleaning": [{"regex": "/product/p\\d+", "replacement": "/product/:id"}],
        "date_range": {"date_from": "-7d"},
        "limit": 25,
    },
    "paths_to_end": {
        "kind": "paths",
        "end": "purchase",
        "depth": 3,
        "events": ["$pageview", "add_to_cart", "checkout", "purchase"],
        "cleaning": [{"regex": "/(product|category)/.*", "replacement": "/\\1"}],
        "date_range": {"date_from": "-14d"},
        "limit": 15,
    },
    "paths_all": {
        "kind": "paths",
        "depth": 2,
        "events": ["signup", "$identify", "purchase", "checkout"],
        "date_range": LAST_30,
    },
    "segment_any": {"kind": "segment", "segment": SHOPPERS, "limit": 50},
    "segment_did_not": {
        "kind": "segment",
        "segment": {
            "conditions": [
                {"type": "behaviour", "event": {"event": "$pageview"}, "min_count": 5, "days": 30},
                {**BUYERS, "negate": True},
                {
                    "type": "person",
                    "filter": {"key": "platform", "type": "person", "operator": "is_set"},
                },
            ]
        },
        "limit": 20,
    },
    "profile_by_person": {"kind": "profile", "person": "u_000239", "limit": 30},
    "profile_by_distinct_id": {
        "kind": "profile",
        "person": "anon_000f683c7e66f8ee",
        "date_range": {"date_from": "-60d"},
    },
}
"""Every analysis kind, with breakdowns, compare, formulas, every funnel mode, exclusions,
segment filters and the property sources (event JSON, person JSON, columns)."""
