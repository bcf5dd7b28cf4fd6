"""The table declarations are what the migrations build, and the rows ingest writes are typed from them."""

from __future__ import annotations

import duckdb
import pytest

from analyzer import storage
from analyzer.storage import migrations


@pytest.fixture(scope="module")
def migrated():
    con = duckdb.connect(":memory:")
    migrations.apply(con)
    yield con
    con.close()


def described(con, name):
    """(name, type, not null, in the key) of each column, in order."""
    return [(c[0], c[1], c[2] == "NO", c[3] == "PRI") for c in con.execute(f"DESCRIBE {name}").fetchall()]


def test_every_table_and_view_the_migrations_build_is_declared(migrated):
    built = dict(migrated.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall())
    assert {n for n, kind in built.items() if kind == "BASE TABLE"} == set(storage.TABLES)
    assert {n for n, kind in built.items() if kind == "VIEW"} == set(storage.VIEWS)


@pytest.mark.parametrize("name", sorted(storage.TABLES))
def test_a_table_is_declared_column_by_column_as_migrated(migrated, name):
    table = storage.TABLES[name]
    declared = [(c.name, c.type, c.not_null or c.name in table.key, c.name in table.key) for c in table.columns]
    assert declared == described(migrated, name)
    assert all(c.description for c in table.columns) and table.description


@pytest.mark.parametrize("name", sorted(storage.VIEWS))
def test_a_view_is_its_base_table_then_its_declared_columns(migrated, name):
    view = storage.VIEWS[name]
    base = [(c.name, c.type) for c in storage.TABLES[view.base].columns] if view.base else []
    assert [(c[0], c[1]) for c in described(migrated, name)] == base + [(c.name, c.type) for c in view.columns]
    assert all(c.description for c in view.columns) and view.description


def test_rows_ingest_writes_leave_out_only_columns_the_database_fills(migrated):
    for name in storage.BATCH_TABLES:
        table = storage.TABLES[name]
        defaults = {c[0]: c[4] for c in migrated.execute(f"DESCRIBE {name}").fetchall()}
        for column in table.columns:
            if column.derived:  # left out of the frames: the table's default fills it on insert
                assert defaults[column.name] is not None, (name, column.name)
        assert set(table.schema()) == {c.name for c in table.columns if not c.derived}
