"""Apache Spark as an analysis backend: the same Ibis expressions, run by Spark SQL over a
Parquet export of the event store (`growthloop export parquet DIR`).

Spark needs no growthloop code on its executors: analyses compile to Spark SQL. Two things
differ from DuckDB and are settled here so that both engines give identical answers:

- JSON. The store keeps `properties` as JSON text, and the export writes it as text. Ibis's
  PySpark compiler reads JSON through Python UDFs that expect JSON text but get
  `get_json_object`'s unquoted values; this compiler keeps every JSON value as JSON text
  (`to_json(try_variant_get(try_parse_json(...)))`, Spark 4's VARIANT) and unwraps strings,
  numbers and booleans the way DuckDB's `json_type` checks do.
- Time. Spark runs in UTC (Ibis sets the session time zone); the export writes timestamps as
  UTC instants, and the views cast them back to plain timestamps.

Engines without ASOF joins (Spark) run the ordered funnel, funnel exclusions and `interval` with
window functions instead (growthloop/analytics/asof.py).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import ibis
import ibis.expr.datatypes as dt
import sqlglot.expressions as sge
from ibis.backends.pyspark import Backend as _PySparkBackend
from ibis.backends.sql.compilers.pyspark import PySparkCompiler

from growthloop.store.export import PARTITION, read_manifest
from growthloop.store.schema import TABLES, Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_MEMBER = re.compile(r'^\$\."(.*)"$', re.DOTALL)

# Spark SQL types of the store's SQL types (what the views expose, whatever the files hold).
_SPARK_TYPES = {
    "VARCHAR": "STRING",
    "UUID": "STRING",
    "TIMESTAMP": "TIMESTAMP",
    "JSON": "STRING",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "BIGINT": "BIGINT",
    "DECIMAL(18,2)": "DECIMAL(18,2)",
}


class GrowthloopSparkCompiler(PySparkCompiler):  # type: ignore[misc]
    """Ibis's PySpark compiler with DuckDB's JSON semantics, in native Spark SQL (no UDFs)."""

    __slots__ = ()

    # Ibis maps these to Python UDFs by name; the visit_ methods below replace them.
    SIMPLE_OPS: ClassVar[dict[Any, str]] = {
        op: name
        for op, name in PySparkCompiler.SIMPLE_OPS.items()
        if op.__name__
        not in {"UnwrapJSONString", "UnwrapJSONInt64", "UnwrapJSONFloat64", "UnwrapJSONBoolean"}
    }

    def _variant(self, text: sge.Expression) -> Any:
        return self.f.anon.try_parse_json(text)

    def visit_JSONGetItem(self, op: Any, *, arg: sge.Expression, index: sge.Expression) -> Any:
        # JSON values are JSON text; a member that is absent is NULL, a JSON null is 'null'.
        member = _MEMBER.match(str(getattr(op.index, "value", "")))
        if op.index.dtype.is_integer():
            path = self.f.format_string("$[%s]", index)
        elif member:  # growthloop's '$."key"' (analytics/filters.json_member)
            key = member.group(1).replace('\\"', '"').replace("'", "\\'")
            path = sge.convert(f"$['{key}']")
        else:
            # $['key'] reads keys with dots or spaces too; quotes in the key are escaped.
            escaped = self.f.replace(index, sge.convert("'"), sge.convert("\\'"))
            path = self.f.concat(sge.convert("$['"), escaped, sge.convert("']"))
        # Spark's variant drops a decimal's trailing zeros (158.00 -> 158), DuckDB reads it as
        # the double 158.0: non-integer JSON numbers are written as doubles. The value is
        # bound once, as a lambda's argument, so the document is parsed once.
        value = sge.to_identifier("gl_json_value")
        kind = self.f.anon.schema_of_variant(value)
        fractional = sge.or_(
            kind.isin(sge.convert("DOUBLE"), sge.convert("FLOAT")),
            self.f.startswith(kind, sge.convert("DECIMAL")),
        )
        as_double = self.f.lower(self.cast(self.cast(value, dt.float64), dt.string))
        text = sge.Lambda(
            this=self.if_(fractional, as_double, self.f.to_json(value)), expressions=[value]
        )
        found = self.f.anon.try_variant_get(self._variant(arg), path)
        return self.f.element_at(self.f.anon.transform(self.f.array(found), text), 1)

    # The unwraps look at the (short) JSON text of one value, not at the whole document.
    _NUMBER = "^-?[0-9]"

    def visit_Cast(self, op: Any, *, arg: sge.Expression, to: Any) -> Any:
        if op.arg.dtype.is_json() and to.is_string():
            return arg  # JSON values are already JSON text
        return super().visit_Cast(op, arg=arg, to=to)

    def visit_UnwrapJSONString(self, op: Any, *, arg: sge.Expression) -> Any:
        return self.if_(
            self.f.startswith(arg, sge.convert('"')),
            self.f.anon.variant_get(self._variant(arg), sge.convert("$"), sge.convert("string")),
            sge.Null(),
        )

    def visit_UnwrapJSONFloat64(self, op: Any, *, arg: sge.Expression) -> Any:
        numeric = self.f.anon.rlike(arg, sge.convert(self._NUMBER))
        return self.if_(numeric, self.cast(arg, op.dtype), sge.Null())

    def visit_UnwrapJSONInt64(self, op: Any, *, arg: sge.Expression) -> Any:
        integer = self.f.anon.rlike(arg, sge.convert("^-?[0-9]+$"))
        return self.if_(integer, self.cast(arg, op.dtype), sge.Null())

    def visit_UnwrapJSONBoolean(self, op: Any, *, arg: sge.Expression) -> Any:
        return self.if_(
            arg.isin(sge.convert("true"), sge.convert("false")),
            arg.eq(sge.convert("true")),
            sge.Null(),
        )


class SparkBackend(_PySparkBackend):  # type: ignore[misc]
    """Ibis's PySpark backend compiling with GrowthloopSparkCompiler; results come to Python
    as Arrow (Spark 4's `toArrow`), not through pandas, so JSON stays text as on DuckDB."""

    compiler = GrowthloopSparkCompiler()

    def to_pyarrow(
        self, expr: Any, /, *, params: Any = None, limit: Any = None, **kwargs: Any
    ) -> Any:
        from ibis.formats.pyarrow import PyArrowData

        self._run_pre_execute_hooks(expr)
        table_expr = expr.as_table()
        sql = self.compile(table_expr, params=params, limit=limit, **kwargs)
        arrow = self._session.sql(sql).toArrow()
        return expr.__pyarrow_result__(PyArrowData.convert_table(arrow, table_expr.schema()))


def find_java_home() -> str | None:
    """JAVA_HOME if set, else the JDK of the `java` on PATH (None: no Java found)."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if java is None:
        return None
    return str(Path(java).resolve().parent.parent)


def local_session(
    master: str = "local[2]", shuffle_partitions: int = 4, app_name: str = "growthloop"
) -> SparkSession:
    """A Spark session for one machine (tests, trying Spark out); on a cluster build your own
    session (docs/scale-out.md) and pass it to `spark_context`."""
    from pyspark.sql import SparkSession

    java_home = find_java_home()
    if java_home is None:
        raise RuntimeError(
            "Spark needs Java 17 or later: install a JDK (apt-get install default-jdk)"
        )
    os.environ.setdefault("JAVA_HOME", java_home)
    # Python workers (if Spark ever starts one) run this interpreter, with its packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.ansi.enabled", "false")
    )
    return builder.getOrCreate()


def spark_session(master: str, app_name: str = "growthloop") -> SparkSession:
    """A session on `master`: `local[N]` as `local_session`, else a cluster (spark://, yarn,
    k8s://) with Spark's own defaults (spark-defaults.conf) plus UTC as the session zone."""
    if master.startswith("local"):
        return local_session(master, shuffle_partitions=8, app_name=app_name)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app_name)
    return builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()


def table_frame(session: SparkSession, location: str, table: Table) -> DataFrame:
    """One exported table as a DataFrame with the store's column names and types."""
    from pyspark.errors import AnalysisException

    types = {c.name: _SPARK_TYPES[c.sql_type.removesuffix(" NOT NULL")] for c in table.columns}
    if table.name == "events":
        types[PARTITION] = "DATE"  # the partition column, for pruning by day
    reader = session.read.option("basePath", location) if table.name == "events" else session.read
    try:
        frame = reader.parquet(location)
    except AnalysisException:
        # An export of a project without events has an empty events folder.
        if table.name != "events":
            raise
        ddl = ", ".join(f"`{name}` {sql_type}" for name, sql_type in types.items())
        frame = session.createDataFrame([], ddl)
    return frame.selectExpr(*(f"CAST(`{n}` AS {t}) AS `{n}`" for n, t in types.items()))


def register_views(session: SparkSession, location: str, *, cache: bool = False) -> list[str]:
    """Temporary views named after the store's tables over an export at `location` (a local
    path or any URI Spark reads: hdfs://, s3a://, abfss://, ...). With `cache`, Spark keeps
    the tables in executor memory once read (for many queries over data that fits)."""
    names = []
    for table in TABLES.values():
        path = location.rstrip("/") + "/" + table.name
        frame = table_frame(session, path, table)
        if cache:
            frame = frame.cache()
        frame.createOrReplaceTempView(table.name)
        names.append(table.name)
    return names


def connect(session: SparkSession) -> ibis.BaseBackend:
    """An Ibis backend on `session` that compiles with GrowthloopSparkCompiler."""
    SparkBackend.register_options()  # ibis.options.pyspark, which the compiler reads
    backend: ibis.BaseBackend = SparkBackend().connect(session)
    return backend


def export_time_zone(location: str) -> str | None:
    """The project time zone recorded in a local export's manifest (None if not readable here)."""
    path = Path(location)
    if not path.is_dir():
        return None
    zone = read_manifest(path).get("time_zone")
    return str(zone) if zone else None
