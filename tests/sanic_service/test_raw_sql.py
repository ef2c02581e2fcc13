"""The Sanic service sends no SQL that Tortoise did not build, except in the named places.

Two checks: the source of ``sanic_service`` calls no raw-SQL API (Tortoise's
``execute_*``, ``RawSQL``, a driver's own ``fetch``/``execute``, another
database library) outside the functions ``driver.RAW_SQL`` names; and every
statement the driver sends while walking every statement of the flows is
one Tortoise's query builder wrote, except the named ones.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from payments import sql
from sanic_service import driver
from tests.sanic_service.conftest import SqlLog
from tests.sanic_service.walk import Pair, walk

PACKAGE = Path(driver.__file__).parent
RAW_CALLS = frozenset({
    "execute_query", "execute_query_dict", "execute_script", "execute_insert", "execute_many",
    "execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_records_to_table",
    "copy_to_table", "cursor", "RawSQL", "connect", "create_pool",
})  # fmt: skip
OTHER_DATABASE_LIBRARIES = ("psycopg", "psycopg2", "sqlite3", "sqlalchemy", "databases")
# What each named place sends (the test must learn of a new one here).
RAW_STATEMENTS = {"ping": sql.PING}
# pypika's statements: quoted table names right after the verb
BUILT = re.compile(r'^(SELECT .+? FROM "\w+"|INSERT INTO "\w+"|UPDATE "\w+" SET|DELETE FROM "\w+")')


def raw_call_sites() -> dict[str, list[str]]:
    """Function name -> raw calls made in it, over every module of the package."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if not isinstance(node, ast.Call):
                    continue
                target = node.func
                name = target.attr if isinstance(target, ast.Attribute) else getattr(
                    target, "id", "")  # fmt: skip
                if name in RAW_CALLS:
                    found.setdefault(func.name, []).append(f"{path.name}:{node.lineno} {name}")
    return found


def imported_modules() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
    return names


def test_raw_sql_only_in_the_named_places() -> None:
    """Raw-SQL calls appear only in the functions driver.RAW_SQL names, each with a reason."""
    sites = raw_call_sites()
    assert set(sites) == set(driver.RAW_SQL), sites
    assert set(RAW_STATEMENTS) == set(driver.RAW_SQL)
    assert all(len(reason) > 20 for reason in driver.RAW_SQL.values())
    roots = {name.split(".")[0] for name in imported_modules()}
    assert not roots & set(OTHER_DATABASE_LIBRARIES)


async def test_every_statement_sent_was_built_by_tortoise(pair: Pair, sql_log: SqlLog) -> None:
    """Walking every statement of the flows, the driver sends only SQL Tortoise's query
    builder wrote, never payments/sql.py's own text, except the named places."""
    await walk(pair)
    raw_texts = set(RAW_STATEMENTS.values())
    handwritten = {" ".join(v.split()) for k, v in vars(sql).items()
                   if k.isupper() and not k.startswith("_") and isinstance(v, str)}  # fmt: skip
    assert len(sql_log.statements) > 60
    sent_raw = set()
    for statement in sql_log.statements:
        if statement in raw_texts:
            sent_raw.add(statement)
            continue
        assert BUILT.match(statement), statement
        assert " ".join(statement.split()) not in handwritten, statement
    assert sent_raw == raw_texts  # the named places were exercised too
