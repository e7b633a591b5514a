"""Growth models (增长模型): pure computation over arrays and summary rows (RFM, CLV, attribution, ...)."""
