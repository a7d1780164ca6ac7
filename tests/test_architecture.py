"""The layout holds: dependencies point web → service → gis, no module imports itself back through others, the
service root stays small, and the check request and role rules each have one home."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gis", "service", "web")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Return the project modules a file imports (at any depth in the file, TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text("utf-8"))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for n in names:
            while n and n not in modules:
                n = n.rpartition(".")[0]
            if n:
                found.add(n)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def test_dependencies_point_one_way():
    graph = _graph()
    wrong = []
    for name, deps in graph.items():
        top = name.split(".")[0]
        for d in deps:
            other = d.split(".")[0]
            if (top == "gis" and other != "gis") or (top == "service" and other == "web"):
                wrong.append(f"{name} imports {d}")
    assert wrong == []


def test_no_import_cycles():
    graph = _graph()
    # Tarjan's strongly connected components: any component of more than one module is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_service_root_holds_domain_packages():
    root = ROOT / "service"
    modules = sorted(p.name for p in root.glob("*.py"))
    packages = sorted(p.name for p in root.iterdir() if (p / "__init__.py").exists())
    assert modules == ["__init__.py"]
    assert packages == ["access", "cases", "cli", "clocks", "core", "filing", "http", "notify", "reports"]


def test_the_web_pages_use_no_api_internals():
    """The JSON API (service/http/api) and the pages (web/pages) are siblings over the service: neither imports the
    other."""
    graph = _graph()
    # web.app assembles the application from both; nothing else crosses
    crossing = [
        f"{n} imports {d}"
        for n, deps in graph.items()
        for d in deps
        if n.startswith("web") and n != "web.app" and d.startswith("service.http.api")
    ]
    crossing += [
        f"{n} imports {d}"
        for n, deps in graph.items()
        for d in deps
        if n.startswith("service.http.api") and d.startswith("web")
    ]
    assert crossing == []


def _calls(name: str) -> list[str]:
    places = []
    for pkg in ("service", "web"):
        for path in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == name:
                    places.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return places


def test_one_place_builds_a_check_request():
    assert _calls("CheckRequest") == [_calls("CheckRequest")[0]] and _calls("CheckRequest")[0].startswith(
        "service/cases/checking.py"
    )


ROLES = {"clerk", "reviewer", "leader", "planner", "admin"}


def _role_rules(tree: ast.AST) -> list[ast.AST]:
    """Return comparisons of a role with a literal, and literal collections of role names (`("clerk", "admin")`)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            if any(isinstance(e, ast.Constant) and e.value in ROLES for e in node.elts):
                found.append(node)
        elif isinstance(node, ast.Compare) and "role" in ast.unparse(node):
            if any(isinstance(c, ast.Constant) and c.value in ROLES for c in ast.walk(node)):
                found.append(node)
    return found


def test_no_role_rule_outside_the_permissions_table():
    """No code or template decides by a role's name (`role in ("clerk", "admin")`): they ask the permissions module."""
    rules = [
        f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}"
        for pkg in ("service", "web")
        for path in (ROOT / pkg).rglob("*.py")
        for node in _role_rules(ast.parse(path.read_text("utf-8")))
    ]
    templates = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in (ROOT / "web" / "templates").glob("*.html")
        for m in re.finditer(r"role\s*(==|!=|in|not in)\s*[^%}]*", p.read_text("utf-8"))
    ]
    assert rules == [] and templates == []


def test_every_step_of_a_case_history_has_a_title_in_both_languages():
    """A case's history (the case page's timeline) names each audit entry by web/data/messages.toml
    `audit_<action>`: an action written with a case must have one, or the clerk reads a code like
    `upload.application`. The workflow's moves (`transition.*`) are titled by workflow.toml."""
    import tomllib

    messages = tomllib.loads((ROOT / "web" / "data" / "messages.toml").read_text("utf-8"))
    untitled = []
    for path in [*(ROOT / "service").rglob("*.py"), *(ROOT / "web").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            name = getattr(node, "func", None)
            if not (isinstance(node, ast.Call) and getattr(name, "id", getattr(name, "attr", "")) == "audit"):
                continue
            if len(node.args) < 4 or (isinstance(node.args[3], ast.Constant) and node.args[3].value is None):
                continue  # not a case's step
            action = node.args[2]
            if isinstance(action, ast.Constant):
                actions = [action.value]
            elif isinstance(action, ast.JoinedStr) and ast.unparse(action).startswith("f'transition."):
                continue
            else:  # a name chosen at run time: the notification outcomes
                actions = re.findall(r'"(notify\.[a-z_]+)"', path.read_text("utf-8"))
                assert actions, (path, ast.unparse(action))
            for a in actions:
                entry = messages.get("audit_" + a.replace(".", "_"), {})
                if not (entry.get("zh") and entry.get("en")):
                    untitled.append(f"{a} ({path.relative_to(ROOT)})")
    assert untitled == [], untitled
