"""Growth models (增长模型): pure computation over arrays and summary rows (RFM, CLV, attribution, ...).

Each model is a pure module (no I/O) with a thin `*_data` module that reads its inputs from a
project's event store with parameterised SQL: `rfm`, `clv` / `churn` / `repeat_purchases`,
`channel_roi`, `attribution`, `budget_mix`, `experiments` / `experiment_*`, `anomalies` /
`alerts` / `alert_delivery`, `content`, `pacing` (see docs/models.md). Input a model cannot use
raises `errors.ModelInputError` with a message saying what was wrong.
"""
