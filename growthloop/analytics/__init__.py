"""Analysis (数据分析): typed specs and one module per analysis (trends, funnels, retention, ...)."""
