"""Import contracts of the guard package (docs/architecture.md, "Layers"), read from the
source with ast: every `import` and `from` statement anywhere in a module counts, those
inside functions included (an import put off until it is needed is still a dependency),
relative imports resolved. Three contracts:

- no import cycle between modules;
- no module imports from a layer above its own (LAYERS, outermost first);
- the pure core (PURE_CORE: the decision and every module it needs) imports no I/O, CLI or
  libvirt module, of the guard or otherwise.

A new module has to be given a layer here (and a line in docs/architecture.md), and a new
dependency of the pure core has to be added to PURE_CORE: both are decisions, not accidents.
"""
import ast
import os
import re
from fnmatch import fnmatchcase

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "guard")

# Outermost first: a module may import from its own layer and the layers below it, never
# from one above. Patterns are module names, "*" matching within one name component.
LAYERS = (
    ("shells", ("guard.__main__", "guard.hook", "guard.cli", "guard.cli.*")),
    ("services", ("guard.services.watch", "guard.services.outcome_watch", "guard.services.stamping",
                  "guard.services.preflight", "guard.services.incoming", "guard.services.evacuation",
                  "guard.services.source_state", "guard.services.activation", "guard.services.status",
                  "guard.services.metrics")),
    # The inputs the shells gather and the outcomes they write: files, /proc and /sys,
    # sockets, libvirt.
    ("host I/O", ("guard.config", "guard.bypass", "guard.facts.cache", "guard.facts.collect", "guard.facts.local",
                  "guard.facts.qemu_conf", "guard.facts.probe", "guard.output.audit", "guard.output.journal",
                  "guard.runtime.pending", "guard.runtime.deferred")),
    # The outcome as text, JSON and the audit record: pure; the layers above write it out.
    ("output", ("guard.output.report", "guard.output.audit_record")),
    ("decision", ("guard.decide.core", "guard.decide.engine", "guard.decide.policy", "guard.decide.outcome",
                  "guard.decide.deferral", "guard.rules", "guard.rules.*")),
    ("guest model", ("guard.guest.model", "guard.guest.domain", "guard.guest.metadata", "guard.guest.waiver",
                     "guard.guest.addresses", "guard.guest.cpuset")),
    ("facts model and catalogue", ("guard.facts", "guard.facts.model", "guard.facts.build", "guard.facts.fingerprint",
                                   "guard.blockers", "guard.blockers.*", "guard.guest.host_resources")),
    # Shared by all, importing no other layer; trusted, bounded and bundled touch files,
    # clocks and sys.path, so the pure core may not use them (CORE_FORBIDDEN). The packages
    # that only group modules (their __init__ imports nothing) sit here too.
    ("runtime helpers", ("guard", "guard.errors", "guard.records", "guard.xmlsafe", "guard.units", "guard.versions",
                         "guard.output.escaping", "guard.signing", "guard.runtime.trusted", "guard.runtime.bounded",
                         "guard.runtime.bundled", "guard.runtime.files", "guard.services", "guard.output",
                         "guard.runtime", "guard.decide", "guard.guest")),
)

# The pure core: the decision (docs/design.md section 2) and every module it imports,
# directly or not. Exactly these: the test fails when the set grows or shrinks.
PURE_CORE_ROOTS = ("guard.decide.core", "guard.decide.engine", "guard.decide.policy", "guard.rules",
                   "guard.rules.*", "guard.guest.domain")
PURE_CORE = (
    "guard", "guard.decide", "guard.decide.core", "guard.decide.engine", "guard.decide.policy",
    "guard.rules", "guard.rules.*",
    "guard.guest", "guard.guest.model", "guard.guest.domain", "guard.guest.metadata", "guard.guest.waiver",
    "guard.guest.addresses", "guard.guest.cpuset", "guard.guest.host_resources",
    "guard.facts", "guard.facts.model", "guard.facts.fingerprint",
    "guard.errors", "guard.records", "guard.xmlsafe", "guard.units", "guard.versions", "guard.signing",
)
# Named outright, whatever LAYERS says: the pure core never imports these guard modules...
CORE_FORBIDDEN = ("guard.__main__", "guard.hook", "guard.cli", "guard.cli.*", "guard.facts.probe", "guard.facts.collect",
                  "guard.facts.cache", "guard.facts.local", "guard.facts.qemu_conf", "guard.output.audit",
                  "guard.output.journal", "guard.services.*", "guard.runtime.trusted", "guard.config", "guard.bypass",
                  "guard.runtime.bounded", "guard.runtime.bundled", "guard.runtime.pending")
# ...nor these modules of Python or third parties: processes, sockets, signals, threads,
# files and the environment, libvirt.
CORE_FORBIDDEN_EXTERNAL = ("libvirt", "structlog", "os", "sys", "io", "subprocess", "socket", "_socket", "signal",
                           "_signal", "select", "selectors", "syslog", "shutil", "tempfile", "pathlib", "glob", "fcntl",
                           "threading", "multiprocessing", "concurrent", "asyncio", "ctypes", "urllib", "http",
                           "ssl")
# Known exceptions, each with why it is one.
CORE_EXTERNAL_ALLOWED = {
    ("guard.guest.metadata", "os"): "issuer(): the host name a stamp is issued by, read only when stamping "
                                    "(guard.services.stamping, `migration-guard stamp`), never by the hook or the "
                                    "decision",
}


def _module_files():
    found = {}
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, REPO)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts.pop()
                found[".".join(parts)] = path
    return found


MODULES = _module_files()


class Import:
    def __init__(self, source, target, line, local):
        self.source, self.target, self.line, self.local = source, target, line, local

    def where(self):
        return "%s:%d%s" % (os.path.relpath(MODULES[self.source], REPO), self.line,
                            " (function-local)" if self.local else "")


def _known(name):
    """The guard module an imported name lands in: the longest known module prefix."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in MODULES else None


def _imports(module):
    """(guard imports as Import, external top-level names as Import) of one module."""
    path = MODULES[module]
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    local_nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            local_nodes.update(id(inner) for inner in ast.walk(node) if inner is not node)
    internal, external = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            # `from package import name`: the submodule when name is one, else the package.
            names = [prefix + "." + alias.name if prefix + "." + alias.name in MODULES else prefix
                     for alias in node.names]
        else:
            continue
        local = id(node) in local_nodes
        for name in names:
            if name == "guard" or name.startswith("guard."):
                target = _known(name)
                assert target is not None, "%s:%d imports %s, which is not a module of guard" % (
                    path, node.lineno, name)
                if target != module and (target, node.lineno) not in {(i.target, i.line) for i in internal}:
                    internal.append(Import(module, target, node.lineno, local))
            else:
                external.append(Import(module, name.split(".")[0], node.lineno, local))
    return internal, external


GRAPH = {module: _imports(module) for module in MODULES}


def _matches(module, patterns):
    return any(fnmatchcase(module, pattern) and module.count(".") == pattern.count(".") for pattern in patterns)


def _layer_of(module):
    found = [index for index, (_name, patterns) in enumerate(LAYERS) if _matches(module, patterns)]
    return found[0] if len(found) == 1 else None


def _closure(roots):
    """The modules `roots` load: what they import, directly or not, and every package above
    each (importing guard.facts.model runs guard/facts/__init__.py first)."""
    seen, todo = set(), list(roots)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(imp.target for imp in GRAPH[module][0])
        parts = module.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
    return seen


def _cycles():
    """(component, cycle) for each strongly connected component of more than one module: its
    modules, and one cycle through them as the Imports that make it (Tarjan's algorithm,
    then the shortest path back to the start)."""
    edges = {m: sorted({imp.target for imp in GRAPH[m][0]}) for m in MODULES}
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    cycles = []
    for component in components:
        start = min(component)
        # Breadth-first from start, within the component, back to start.
        paths, seen = {start: []}, {start}
        frontier = [start]
        cycle = None
        while frontier and cycle is None:
            following = []
            for node in frontier:
                for imp in sorted(GRAPH[node][0], key=lambda i: (i.target, i.line)):
                    if imp.target == start:
                        cycle = paths[node] + [imp]
                        break
                    if imp.target in component and imp.target not in seen:
                        seen.add(imp.target)
                        paths[imp.target] = paths[node] + [imp]
                        following.append(imp.target)
                if cycle is not None:
                    break
            frontier = following
        cycles.append((component, cycle))
    return cycles


def _show(component, cycle):
    """The cycle, each import where it is, and every other import between its component's
    modules (one cycle is shown per component; breaking it may leave another)."""
    others = [imp for m in sorted(component) for imp in GRAPH[m][0] if imp.target in component and imp not in cycle]
    shown = others[:10]
    return "\n".join([" -> ".join([cycle[0].source] + [imp.target for imp in cycle])]
                     + ["    %s imports %s" % (imp.where(), imp.target) for imp in cycle]
                     + ["    and %s imports %s" % (imp.where(), imp.target) for imp in shown]
                     + (["    and %d more imports between these %d modules" % (len(others) - len(shown), len(component))]
                        if len(others) > len(shown) else []))


def test_the_graph_sees_function_local_and_relative_imports():
    """The contracts are only as good as the graph: it must see what the modules really do."""
    core = {imp.target for imp in GRAPH["guard.decide.core"][0]}
    assert {"guard.decide.engine", "guard.decide.policy", "guard.rules.findings"} <= core  # from .x import y
    locals_ = {(imp.target, imp.local) for imp in GRAPH["guard.cli.check"][0]}
    assert ("guard.services.incoming", True) in locals_ and ("guard.facts.probe", True) in locals_  # inside run()
    assert "guard.rules.base" in {imp.target for imp in GRAPH["guard.rules.cpu"][0]}  # from .base import
    assert "guard.config" in {imp.target for imp in GRAPH["guard.cli.check"][0]}  # from ..config import
    assert "libvirt" in {imp.target for imp in GRAPH["guard.facts.collect"][1]}


def test_every_module_has_exactly_one_layer():
    unplaced = sorted(m for m in MODULES if _layer_of(m) is None)
    assert not unplaced, ("modules in no layer, or in several: give each one layer in LAYERS here and in "
                          "docs/architecture.md (Layers): %s" % unplaced)
    stale = [pattern for _name, patterns in LAYERS for pattern in patterns if not any(
        _matches(m, (pattern,)) for m in MODULES)]
    assert not stale, "LAYERS names modules that do not exist: %s" % stale


def test_no_import_cycles():
    cycles = _cycles()
    assert not cycles, "import cycles (function-local imports count):\n" + "\n".join(_show(*c) for c in cycles)


def test_no_module_imports_from_a_layer_above_its_own():
    upward = []
    for module in sorted(MODULES):
        for imp in GRAPH[module][0]:
            mine, theirs = _layer_of(module), _layer_of(imp.target)
            if mine is not None and theirs is not None and theirs < mine:
                upward.append("%s: %s (%s) imports %s (%s)" % (imp.where(), module, LAYERS[mine][0], imp.target,
                                                              LAYERS[theirs][0]))
    assert not upward, "imports from a layer above (docs/architecture.md, Layers):\n" + "\n".join(upward)


def test_the_pure_core_is_exactly_what_the_decision_needs():
    roots = [m for m in MODULES if _matches(m, PURE_CORE_ROOTS)]
    loaded = _closure(roots)
    declared = {m for m in MODULES if _matches(m, PURE_CORE)}
    assert loaded == declared, ("the pure core changed: now also %s; no longer %s. Update PURE_CORE here and in "
                                "docs/architecture.md, if that is intended"
                                % (sorted(loaded - declared), sorted(declared - loaded)))


def test_the_pure_core_imports_no_io_cli_or_libvirt_module():
    core = {m for m in MODULES if _matches(m, PURE_CORE)}
    assert not {m for m in core if _matches(m, CORE_FORBIDDEN)}, "PURE_CORE names a forbidden module"
    wrong = []
    for module in sorted(core):
        internal, external = GRAPH[module]
        for imp in internal:
            if _matches(imp.target, CORE_FORBIDDEN) or imp.target not in core:
                wrong.append("%s: %s imports %s" % (imp.where(), module, imp.target))
        for imp in external:
            if imp.target in CORE_FORBIDDEN_EXTERNAL and (module, imp.target) not in CORE_EXTERNAL_ALLOWED:
                wrong.append("%s: %s imports %s" % (imp.where(), module, imp.target))
    assert not wrong, "the pure core imports I/O, CLI or libvirt modules:\n" + "\n".join(wrong)
    for module, name in CORE_EXTERNAL_ALLOWED:  # an exception no longer needed goes
        assert name in {imp.target for imp in GRAPH[module][1]}, "%s no longer imports %s: drop the exception" % (
            module, name)


def _layers_section():
    with open(os.path.join(REPO, "docs", "architecture.md"), encoding="utf-8") as handle:
        text = handle.read()
    return text.split("\n## Layers", 1)[1].split("\n## ", 1)[0]


def _documented_layers():
    """{layer name: modules} from docs/architecture.md's Layers section: one item a layer,
    `**name**` and then its modules as `guard/...` paths."""
    section = _layers_section()
    found = {}
    for bullet in re.split(r"\n(?=\d+\. |- )|\n\n", section):
        match = re.match(r"(?:\d+\.|-) \*\*([^*]+)\*\*", bullet)
        if match:
            paths = re.findall(r"`(guard/[\w/.*]+)`", bullet)
            found[match.group(1)] = paths
    return found


@pytest.mark.parametrize("layer", [name for name, _patterns in LAYERS])
def test_docs_name_each_layers_modules(layer):
    documented = _documented_layers()
    assert layer in documented, "docs/architecture.md's Layers section has no **%s** item" % layer
    index = [name for name, _p in LAYERS].index(layer)
    paths = {os.path.relpath(path, REPO): module for module, path in MODULES.items()}
    named = {path for pattern in documented[layer] for path in paths
             if fnmatchcase(path, pattern) and path.count("/") == pattern.count("/")}
    expected = {path for path, module in paths.items() if _layer_of(module) == index}
    assert not expected - named, "docs/architecture.md, Layers, **%s**: does not name %s" % (
        layer, sorted(expected - named))
    assert not named - expected, "docs/architecture.md, Layers, **%s**: names %s, of another layer here" % (
        layer, sorted(named - expected))


def test_docs_name_the_pure_core():
    """The paragraph "**The pure core** is ..." names PURE_CORE's modules (a folder, every
    module in it) before it says what they may not import."""
    paragraph = _layers_section().split("**The pure core**", 1)[1].split("It imports no", 1)[0]
    paths = {os.path.relpath(path, REPO): module for module, path in MODULES.items()}
    named = set()
    for name in re.findall(r"`(guard/[\w/.]+)`", paragraph):
        found = {m for path, m in paths.items() if path == name or (name.endswith("/") and path.startswith(name))}
        assert found, "docs/architecture.md, the pure core: %s is no module or folder of guard" % name
        named |= found
    expected = {m for m in MODULES if _matches(m, PURE_CORE)}
    assert named == expected, "docs/architecture.md, the pure core: names also %s; misses %s" % (
        sorted(named - expected), sorted(expected - named))
