"""The object census's parts: what is reachable, and SQLite's own memory count."""

from __future__ import annotations

import sqlite3

from bench.object_census import census, marks, reachable, sqlite_memory


class _Node:
    def __init__(self, *children: object) -> None:
        self.children = list(children)


def test_reachable_follows_references_but_not_into_classes_or_modules() -> None:
    leaf = _Node()
    root = {"a": [_Node(leaf)], "kind": _Node, "module": sqlite3}
    apart = _Node()
    found = reachable(root)
    assert id(leaf) in found and id(root["a"]) in found
    assert id(apart) not in found
    # The class and module are not walked, so what only they reach is not counted.
    assert id(_Node.__init__) not in found and id(sqlite3.connect) not in found


def test_objects_made_outside_the_root_count_outside() -> None:
    root = [_Node() for _ in range(10)]
    outside_before, inside_before = census(root)
    root.extend(_Node() for _ in range(5))  # each a node and its list of children
    # 3,000 lists of one node, each node with its list of children, and ``kept``: 9,001.
    kept = [[_Node()] for _ in range(3000)]
    outside_after, inside_after = census(root)
    assert inside_after - inside_before == 10
    # Give or take what the interpreter itself made or freed in between.
    assert abs(outside_after - outside_before - 9001) < 200
    assert kept


def test_sqlite_counts_the_memory_it_holds() -> None:
    connection = sqlite3.connect(":memory:")
    before = sqlite_memory()
    connection.execute("create table t (x)")
    connection.executemany("insert into t values (?)", [(str(i) * 20,) for i in range(20_000)])
    assert sqlite_memory() - before > 200_000  # 20,000 rows of 20+ bytes live in its pages
    connection.close()


def test_three_checkpoints_early_middle_and_end() -> None:
    assert marks(1300) == [260, 780, 1300]
    assert marks(2) == [1, 2]
