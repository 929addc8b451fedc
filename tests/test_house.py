"""The house rules of issue 10, checked on the source with ast (nothing is imported or run):
no module of snakedrizzle/ over 400 lines, no function over 60 lines, no import cycle between
snakedrizzle modules, and rule scripts that reach the library by a normal import.

Each rule is a small function of a source tree, tested first on a made-up tree where it must
find something, then applied to the real package. No allow-list: data tables are module-level
assignments, not functions, so they never count as long functions.
"""
import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "snakedrizzle"
SCRIPTS = REPO / "scripts"

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Ways to reach code other than by a normal import statement.
INDIRECT_IMPORT_MODULES = {"importlib", "imp", "runpy", "pkgutil"}
INDIRECT_IMPORT_CALLS = {"__import__", "import_module", "exec", "eval", "run_path", "run_module"}
DOTTED_PACKAGE_PATH = re.compile(r"^snakedrizzle(\.\w+)+(:\w+)?$")


# --------------------------------------------------------------------------------------------
# The checkers
# --------------------------------------------------------------------------------------------

def package_modules(package_dir):
    """{dotted module name: path} of every .py file under a package directory."""
    package_dir = Path(package_dir)
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def long_modules(modules, limit=MAX_MODULE_LINES):
    """[(module, lines)] of modules longer than `limit` lines."""
    counts = {name: len(path.read_text().splitlines()) for name, path in modules.items()}
    return sorted((name, n) for name, n in counts.items() if n > limit)


def long_functions(modules, limit=MAX_FUNCTION_LINES):
    """[(module:qualified.name, lines)] of functions (methods and nested ones included) longer
    than `limit` lines, decorators and docstring counted."""
    found = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for qualname, node in _functions(tree):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            lines = node.end_lineno - first + 1
            if lines > limit:
                found.append((f"{name}:{qualname}", lines))
    return sorted(found)


def _functions(node, prefix=""):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qualname = prefix + child.name
            if not isinstance(child, ast.ClassDef):
                yield qualname, child
            yield from _functions(child, qualname + ".")
        else:
            yield from _functions(child, prefix)


def import_graph(modules):
    """{module: {imported package module, ...}}: every import statement, wherever it is (module
    level, in a function, under a condition), resolved to the module it names. `from a import b`
    points at the module a.b when there is one, else at a (b is then a name defined in a)."""
    graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    targets.add(_longest_known_prefix(alias.name, modules))
            elif isinstance(node, ast.ImportFrom):
                base = _absolute_base(name, is_package, node)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.add(submodule if submodule in modules else _longest_known_prefix(base, modules))
        graph[name] = {t for t in targets if t is not None}
    return graph


def _absolute_base(module, is_package, node):
    """The absolute module an ImportFrom names, resolving relative levels."""
    if not node.level:
        return node.module
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _longest_known_prefix(dotted, modules):
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in modules:
            return ".".join(parts[:n])
    return None


def import_cycles(graph):
    """Groups of modules that import each other (directly or around a loop), each sorted;
    a module importing itself is a group of one."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(v):   # Tarjan's strongly connected components
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
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph.get(v, ()):
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(cycles)


def describe_cycle(group, graph):
    """'a -> b, b -> a': the imports that hold a cycle together."""
    members = set(group)
    return ", ".join(f"{a} -> {b}" for a in group for b in sorted(graph[a] & members))


def indirect_imports(script, package_function_names):
    """Reasons why a script does not reach snakedrizzle by a normal import: no import of it,
    importlib & co., or a stage named by a string (dotted path or a snakedrizzle function name)."""
    tree = ast.parse(Path(script).read_text(), str(script))
    problems = []
    imports_package = False
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for top in (n.split(".")[0] for n in names):
                imports_package |= top == "snakedrizzle"
                if top in INDIRECT_IMPORT_MODULES:
                    problems.append(f"line {node.lineno}: imports {top}")
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if called in INDIRECT_IMPORT_CALLS:
                problems.append(f"line {node.lineno}: calls {called}()")
            # A stage handed over by name: a positional argument that is a package function's
            # name (keyword values such as combine_type="minmed" are parameters, not stages).
            problems += [f"line {a.lineno}: names {a.value!r} as a string" for a in node.args
                         if isinstance(a, ast.Constant) and a.value in package_function_names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if DOTTED_PACKAGE_PATH.match(node.value):
                problems.append(f"line {node.lineno}: names {node.value!r} as a string")
    if not imports_package:
        problems.append("no import from snakedrizzle")
    return problems


def top_level_function_names(modules):
    names = set()
    for path in modules.values():
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
    return names


# --------------------------------------------------------------------------------------------
# The checkers find what they should, on a made-up package
# --------------------------------------------------------------------------------------------

@pytest.fixture
def toy(tmp_path):
    """A package with a long module, a long (decorated, nested) function, a cycle through a
    relative and a function-level import, and a package/submodule pair that is not a cycle."""
    files = {
        "toy/__init__.py": "from toy.sub import helper\n",
        "toy/a.py": "from . import b\n\ndef f():\n    return b\n",
        "toy/b.py": "def g():\n    from toy.c import h\n    return h\n",
        "toy/c.py": "import toy.a\n\ndef h():\n    pass\n",
        "toy/sub/__init__.py": "from .impl import helper\n",
        "toy/sub/impl.py": "import os\n\ndef helper():\n    pass\n",
        "toy/big.py": "X = [\n" + "    1,\n" * 450 + "]\n",
        "toy/long.py": "def deco(f):\n    return f\n\n\nclass K:\n    @deco\n    def m(self):\n"
                       + "        x = 1\n" * 59 + "        def inner():\n" + "            y = 2\n" * 61,
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return package_modules(tmp_path / "toy")


def test_checkers_on_a_made_up_package(toy):
    assert long_modules(toy) == [("toy.big", 452)]
    # m: decorator + def + 59 + inner (62 lines) = 123; inner alone: 62. The table X is no function.
    assert long_functions(toy) == [("toy.long:K.m", 123), ("toy.long:K.m.inner", 62)]
    graph = import_graph(toy)
    assert graph["toy.a"] == {"toy.b"} and graph["toy.b"] == {"toy.c"} and graph["toy.c"] == {"toy.a"}
    assert graph["toy"] == {"toy.sub"} and graph["toy.sub"] == {"toy.sub.impl"}
    assert import_cycles(graph) == [["toy.a", "toy.b", "toy.c"]]
    assert describe_cycle(["toy.a", "toy.b", "toy.c"], graph) == \
        "toy.a -> toy.b, toy.b -> toy.c, toy.c -> toy.a"
    assert import_cycles({"m": {"m"}}) == [["m"]]


def test_script_checker_on_made_up_scripts(tmp_path):
    def problems(source):
        path = tmp_path / "s.py"
        path.write_text(source)
        return indirect_imports(path, {"blot_stage"})

    assert problems("from snakedrizzle.drizzle.files import blot\nrun_stage(snakemake, blot, 1)\n") == []
    assert problems("from snakedrizzle.x import r\nr(snakemake, combine_type='blot_stage', k=d['blot_stage'])\n") == []
    named = "from snakedrizzle.workflow.jobs import run_stage\nrun_stage(snakemake, 'blot_stage')\n"
    assert problems(named) == ["line 2: names 'blot_stage' as a string"]
    assert problems("from snakedrizzle.x import r\nr(snakemake, 'snakedrizzle.align.jobs:fit_job')\n") \
        == ["line 2: names 'snakedrizzle.align.jobs:fit_job' as a string"]
    assert problems("import importlib\nimportlib.import_module('snakedrizzle.x')\n") == [
        "line 1: imports importlib", "line 2: calls import_module()",
        "line 2: names 'snakedrizzle.x' as a string", "no import from snakedrizzle"]


# --------------------------------------------------------------------------------------------
# The rules, on the real package
# --------------------------------------------------------------------------------------------

MODULES = package_modules(PACKAGE)


def test_no_module_over_400_lines():
    found = long_modules(MODULES)
    assert not found, "modules over 400 lines: " + ", ".join(f"{m} ({n})" for m, n in found)


def test_no_function_over_60_lines():
    found = long_functions(MODULES)
    assert not found, "functions over 60 lines: " + ", ".join(f"{f} ({n})" for f, n in found)


def test_no_import_cycle():
    graph = import_graph(MODULES)
    assert "snakedrizzle.simulate.dataset" in graph      # the graph really covers the package
    found = import_cycles(graph)
    assert not found, "import cycles: " + "; ".join(describe_cycle(c, graph) for c in found)


def test_scripts_import_the_library_normally():
    scripts = sorted(SCRIPTS.glob("*.py"))
    assert scripts, f"no rule scripts in {SCRIPTS}"
    names = top_level_function_names(MODULES)
    found = {s.name: p for s in scripts if (p := indirect_imports(s, names))}
    assert not found, "scripts not using a normal import:\n" + "\n".join(
        f"  {name}: {'; '.join(p)}" for name, p in sorted(found.items()))
