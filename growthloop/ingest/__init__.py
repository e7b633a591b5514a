"""Data in (数据采集): file import, identity resolution, enrichment; the collector arrives later."""
