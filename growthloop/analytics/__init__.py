"""Analysis (数据分析): typed specs and one module per analysis (trends, funnels, retention,
lifecycle, stickiness).

spec = parse_spec(open("funnel.json").read())
result = run_analysis(spec, QueryContext.for_workspace(workspace))
"""

from growthloop.analytics.context import QueryContext
from growthloop.analytics.funnels import FunnelResult, FunnelSpec
from growthloop.analytics.lifecycle import LifecycleResult, LifecycleSpec
from growthloop.analytics.registry import RUNNERS, AnalysisSpec, parse_spec, run_analysis, runner
from growthloop.analytics.results import AnalysisResult, ResultTable
from growthloop.analytics.retention import RetentionResult, RetentionSpec
from growthloop.analytics.stickiness import StickinessResult, StickinessSpec
from growthloop.analytics.trends import TrendsResult, TrendsSpec
from growthloop.analytics.validation import SpecError

__all__ = [
    "RUNNERS",
    "AnalysisResult",
    "AnalysisSpec",
    "FunnelResult",
    "FunnelSpec",
    "LifecycleResult",
    "LifecycleSpec",
    "QueryContext",
    "ResultTable",
    "RetentionResult",
    "RetentionSpec",
    "SpecError",
    "StickinessResult",
    "StickinessSpec",
    "TrendsResult",
    "TrendsSpec",
    "parse_spec",
    "run_analysis",
    "runner",
]
