"""Storage: the DuckDB event store and the SQLAlchemy metadata database."""
