"""The engine's rooms: every import points down the room order, rooms stay small, pages stay thin."""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ORDER = ["core", "model", "store", "ingest", "shapes", "query", "maps", "labels", "evaluation", "lab", "cli",
         "__main__"]  # a room may import itself and the rooms before it


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports (absolute names), at any depth of the file."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return names


def _room(path: Path) -> str:
    parts = path.relative_to(REPO / "indexing").parts
    return parts[0] if len(parts) > 1 else path.stem


def test_every_engine_import_points_down_and_none_draws():
    upward = []
    for path in (REPO / "indexing").rglob("*.py"):
        if path.name == "__init__.py" and path.parent == REPO / "indexing":
            continue
        mine = _room(path)
        for name in _imports(path):
            top = name.split(".")[0]
            assert top not in ("streamlit", "components", "pages"), f"{path} imports {name}"
            if top == "indexing" and name.count(".") >= 1:
                theirs = name.split(".")[1]
                if theirs in ORDER and ORDER.index(theirs) > ORDER.index(mine):
                    upward.append(f"{path.relative_to(REPO)} → {name}")
    assert upward == []


def test_rooms_stay_small_and_pages_thin():
    top = [p for p in (REPO / "indexing").glob("*.py")]
    assert len(top) <= 8
    for room in (p for p in (REPO / "indexing").iterdir() if p.is_dir() and p.name != "__pycache__"):
        assert room.name in ORDER and len([p for p in room.glob("*.py") if p.name != "__init__.py"]) <= 16, room
    for page in (REPO / "pages").glob("*.py"):
        assert len(page.read_text().splitlines()) <= 120, page
