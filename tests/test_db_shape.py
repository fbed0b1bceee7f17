"""Every db/ module has one shape: each statement is a constant with the typed function that
runs it, and the rest of lineage_graph calls those functions (Marquez's DAO: a query, its
signature and its row mapper in one place). Read from the source, no Neo4j needed."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lineage_graph"
DB = PACKAGE / "db"


def _db_aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound to db modules (``from lineage_graph.db import x as q`` -> q: x)."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "lineage_graph.db":
            found |= {alias.asname or alias.name: alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.asname: alias.name.rsplit(".", 1)[1] for alias in node.names
                      if alias.name.startswith("lineage_graph.db.") and alias.asname}
    return found


def _statement_uses(path: Path) -> list[str]:
    """Where a module outside db/ touches a statement: a db constant by attribute or by
    import, the shared record mappers, or ``tx.run`` / ``session.run``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = _db_aliases(tree)
    where = str(path.relative_to(ROOT) if ROOT in path.parents else path.name)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.isupper()):
            found.append(f"{where}:{node.lineno} uses {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "lineage_graph.db"):
            if node.module == "lineage_graph.db.results":
                found.append(f"{where}:{node.lineno} imports the db record mappers")
            found += [f"{where}:{node.lineno} imports {alias.name}" for alias in node.names
                      if alias.name.isupper()]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "run" and isinstance(node.func.value, ast.Name)
              and node.func.value.id in {"tx", "session"}):
            found.append(f"{where}:{node.lineno} runs a statement itself")
    return found


def test_only_db_modules_touch_statements() -> None:
    wrong = [use for path in sorted(PACKAGE.rglob("*.py")) if DB not in path.parents
             for use in _statement_uses(path)]
    assert not wrong, "statements used outside db/ (call the db function instead):\n" + \
        "\n".join(wrong)


def test_every_statement_has_its_function() -> None:
    """A public statement constant of a db module is run by a function of that module, or is
    part of another statement (the blocks of APPLY_PLAN)."""
    orphans = []
    for path in sorted(DB.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {target.id for node in tree.body if isinstance(node, ast.AnnAssign | ast.Assign)
                     for target in (node.targets if isinstance(node, ast.Assign)
                                    else [node.target])
                     if isinstance(target, ast.Name) and target.id.isupper()
                     and isinstance(node.value, ast.Constant | ast.BinOp | ast.Call)
                     and "LiteralString" in ast.unparse(node)}
        used = set()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) or (
                    isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None):
                used |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        orphans += [f"{path.name}: {name}" for name in sorted(constants - used)]
    assert not orphans, "statements no function runs:\n" + "\n".join(orphans)


def test_the_checks_see_a_statement_outside_db(tmp_path: Path) -> None:
    """The first test can fail: a service reaching for a constant, or running Cypher, is seen."""
    bad = tmp_path / "service.py"
    bad.write_text("from lineage_graph.db import lineage_reads as q\n"
                   "from lineage_graph.db.marquez_reads import RUN\n"
                   "def f(tx):\n    return tx.run(q.NODE_BY_ID, nodeId='x')\n")
    assert len(_statement_uses(bad)) == 3, _statement_uses(bad)
