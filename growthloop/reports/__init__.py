"""Review (复盘): weekly data report, campaign review, monthly review."""
