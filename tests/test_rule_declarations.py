"""One declaration per rule code: every finding is made from its declared code, and the action
comes from the declaration (CONTRIBUTING.md, "Adding a rule").

Read with ast from every module under guard/: each call that makes a finding (a rule record's
`.finding(variant, ...)` and `.unverifiable(...)`, and the findings module's
`finding(rule, variant, action, ...)`) must name a code a rule declares (variants written as
a literal or a module constant are resolved against the declarations; the others are checked
when the finding is made), and must not pass an action the declaration fixes. Only a code
declared BY_CONTEXT ("deny|warn") takes its action from the call site, which must then give
one. Receivers are resolved against the imported module: `RULE`, `STORAGE_RULE` are its
Rule records; a receiver that is not a module global (a parameter) stands for any of them.
"""
import ast
import importlib
import os
import sys

import pytest

import guard
from guard.rules import BY_ID, REGISTRY
from guard.rules.base import MISSING_INPUTS, Code, Rule

PACKAGE = os.path.dirname(os.path.abspath(guard.__file__))
FINDINGS = sys.modules[Code.__module__]  # wherever the findings module lives
UNVERIFIABLE = BY_ID["unverifiable"]

# Findings built without a declaration, each with why.
BUILT = {
    ("guard.services.incoming", "_finding"): "a destination's decision read back from its JSON answer (check "
                                             "--probe --batch): made and checked there",
}


def _modules():
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = ["guard"] + os.path.relpath(path, PACKAGE)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts.pop()
                yield ".".join(parts), path


class Site:
    """One call that makes a finding: where, what kind, its rule candidates and arguments."""

    def __init__(self, module, path, node, function):
        self.module, self.path, self.node, self.function = module, path, node, function

    def __str__(self):
        return "%s:%d (%s)" % (os.path.relpath(self.path, os.path.dirname(PACKAGE)), self.node.lineno,
                               ast.unparse(self.node)[:90])


def _functions(tree):
    """node id -> name of the innermost function around it."""
    inside = {}

    def visit(node, name):
        for child in ast.iter_child_nodes(node):
            here = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else name
            inside[id(child)] = here
            visit(child, here)
    visit(tree, None)
    return inside


def _sites():
    """(rule-record sites, findings-function sites, sites building a Finding directly)."""
    records, functions, built = [], [], []
    for module, path in _modules():
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        inside = None
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            kind = None
            if isinstance(func, ast.Attribute) and func.attr in ("finding", "unverifiable"):
                kind = records
            elif isinstance(func, ast.Name) and func.id == "finding":  # however it was imported
                kind = functions
            elif path == FINDINGS.__file__:
                continue  # where Code.make builds them
            elif (isinstance(func, ast.Name) and func.id == "Finding") or (
                    isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "Finding"
                    and func.attr in ("from_tuple", "_make")) or (
                    isinstance(func, ast.Attribute) and func.attr == "make" and module != Rule.__module__):
                kind = built
            if kind is None:
                continue
            inside = inside or _functions(tree)
            kind.append(Site(module, path, node, inside.get(id(node))))
    return records, functions, built


RECORD_SITES, FUNCTION_SITES, BUILT_SITES = _sites()


def _constant(module, node):
    """(True, value) for a literal or a module-level constant (str or None); else (False, None)."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return True, node.value
    if isinstance(node, ast.Name) and node.id in vars(module):
        value = vars(module)[node.id]
        if value is None or isinstance(value, str):
            return True, value
    return False, None


def _candidates(site):
    """(the module, the Rule records a `.finding` / `.unverifiable` call can be made on)."""
    module = importlib.import_module(site.module)
    receiver = site.node.func.value
    if isinstance(receiver, ast.Name) and receiver.id in vars(module):
        value = vars(module)[receiver.id]
        assert isinstance(value, Rule), "%s: %s is not a rule record" % (site, receiver.id)
        return module, [value]
    rules = [value for value in vars(module).values() if isinstance(value, Rule)]
    assert rules, "%s: the receiver is no rule record of %s" % (site, site.module)
    return module, rules


def _code(rule, variant):
    return "%s[%s]" % (rule.id, variant) if variant else rule.id


def _declared(rule):
    return {code.code: code for code in rule.codes}


def _action_problem(site, module, codes, action):
    """Why the action given (an ast node or None) does not fit the declared codes, or None.
    codes: the Codes the call can make (one when the variant is known)."""
    fixed = [code for code in codes if "|" not in code.default]
    picked = [code for code in codes if "|" in code.default]
    if action is None:
        return "%s picks its action by context: the call must give one" % picked[0].code if not fixed else None
    if not picked:
        return "passes an action (%s) that its declaration fixes (%s)" % (
            ast.unparse(action), ", ".join(sorted({"%s %s" % (c.code, c.default) for c in fixed})))
    known, value = _constant(module, action)
    if known and len(codes) == 1 and value not in codes[0].default.split("|"):
        return "passes %r; %s declares %s" % (value, codes[0].code, codes[0].default)
    return None


def test_the_call_sites_are_found():
    """The reading above sees the rules' call sites (a sanity floor, not a count to keep)."""
    assert len(RECORD_SITES) > 80
    assert {site.module for site in RECORD_SITES} >= {"guard.rules.storage", "guard.rules.devices",
                                                       "guard.rules.host_identity"}


@pytest.mark.parametrize("site", RECORD_SITES, ids=str)
def test_a_rule_record_call_names_a_declared_code_and_no_fixed_action(site):
    module, rules = _candidates(site)
    node = site.node
    keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
    if node.func.attr == "unverifiable":
        assert "action" not in keywords, "%s: unverifiable findings are warn by declaration" % site
        for rule in rules:
            assert rule.may_be_unverifiable, "%s: %s reports unverifiable[%s] without may_be_unverifiable=True" % (
                site, rule.id, rule.id)
            assert "unverifiable[%s]" % rule.id in _declared(UNVERIFIABLE), site
        return
    assert node.args, "%s: no variant" % site
    action = keywords.get("action", node.args[4] if len(node.args) > 4 else None)
    known, variant = _constant(module, node.args[0])
    if known:
        # A receiver that is a parameter stands for the module's records that declare the variant.
        codes = [_declared(rule)[_code(rule, variant)] for rule in rules if _code(rule, variant) in _declared(rule)]
        assert codes, "%s: %s is not a declared code" % (site, " or ".join(_code(rule, variant) for rule in rules))
        for code in codes:
            problem = _action_problem(site, module, [code], action)
            assert problem is None, "%s: %s" % (site, problem)
    else:  # the variant is worked out at run time, where Rule.finding checks it
        problem = _action_problem(site, module, [code for rule in rules for code in rule.codes], action)
        assert problem is None, "%s: %s" % (site, problem)


def test_no_module_makes_a_finding_from_a_bare_code():
    """Every finding comes from its rule's record (RULE.finding, RULE.unverifiable), the
    engine's included: the action is the declaration's, never written at the call site."""
    assert not FUNCTION_SITES, "make these from the rule record (RULE.finding(variant, ...)): %s" % [
        str(site) for site in FUNCTION_SITES]


def test_known_exceptions_still_exist():
    built = {(site.module, site.function) for site in BUILT_SITES}
    assert set(BUILT) <= built, sorted(set(BUILT) - built)


@pytest.mark.parametrize("site", BUILT_SITES, ids=str)
def test_no_finding_is_built_around_its_declaration(site):
    assert (site.module, site.function) in BUILT, (
        "%s builds a Finding without its declaration: make it from the rule record" % site)


def test_the_unverifiable_codes_are_the_rules_that_report_them():
    """unverifiable's codes are derived (guard.rules.unverifiable.record): the engine's inputs
    and every rule declared may_be_unverifiable, which must report it somewhere; the engine
    names its inputs as MISSING_INPUTS does."""
    import guard.decide.engine
    assert {name for _flag, name in MISSING_INPUTS} == set(guard.decide.engine._UNCHECKED)
    reporting = set()
    for site in RECORD_SITES:
        if site.node.func.attr == "unverifiable":
            reporting.update(rule.id for rule in _candidates(site)[1])
    declared = {rule.id for rule in REGISTRY if rule.may_be_unverifiable}
    assert declared == reporting, {"declared may_be_unverifiable, never reported": sorted(declared - reporting),
                                   "reported, not declared": sorted(reporting - declared)}
    inputs = [name for flag, name in MISSING_INPUTS if any(getattr(rule, flag) for rule in REGISTRY)]
    assert [c.code for c in UNVERIFIABLE.codes] == ["unverifiable[%s]" % name for name in inputs] + [
        "unverifiable[%s]" % rule.id for rule in REGISTRY if rule.may_be_unverifiable]


def test_a_rule_record_refuses_what_it_does_not_declare():
    from guard.rules.findings import UndeclaredCode
    storage, host_cpu, session = BY_ID["storage"], BY_ID["host-cpu"], BY_ID["session-connection"]
    made = storage.finding("missing", "m", "r", None, sources=2)
    assert (made.rule, made.code, made.action, made.strict, made.evidence) == (
        "storage", "storage[missing]", "warn", "deny", (("sources", 2),))
    assert host_cpu.finding("model", "m", "r", action="warn").action == "warn"
    with pytest.raises(UndeclaredCode):
        storage.finding("floppy", "m", "r")  # undeclared variant
    with pytest.raises(UndeclaredCode):
        storage.finding("missing", "m", "r", action="warn")  # the declaration fixes it
    with pytest.raises(UndeclaredCode):
        host_cpu.finding("model", "m", "r")  # picked by context: the call must say
    with pytest.raises(UndeclaredCode):
        host_cpu.finding("model", "m", "r", action="info")  # not one the declaration allows
    with pytest.raises(UndeclaredCode):
        session.unverifiable("m")  # not declared may_be_unverifiable
    lacking = storage.unverifiable("m", public="p", sources=1)
    assert (lacking.rule, lacking.code, lacking.action, lacking.public) == (
        "unverifiable", "unverifiable[storage]", "warn", "p")


def test_strict_is_declared_only_where_it_is_not_deny():
    from guard.rules.base import codes
    assert [c.strict for c in codes("x", "warn", "a", "b")] == ["deny", "deny"]
    assert [c.strict for c in codes("x", "info", "a", strict="warn")] == ["warn"]
