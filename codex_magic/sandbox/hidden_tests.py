"""Hidden tests whose verdict the candidate cannot forge (``sandbox.run_tests``).

HumanEval's tests are a ``check(candidate)`` function of asserts. Run inside the
candidate's process, a candidate could write a passing result itself and exit. So
where the test allows it, the parent takes ``check`` apart: the child only evaluates
each ``candidate(...)`` call, with arguments the parent computed, and reports the value
as plain data (``child.py``'s ``encode``); the parent rebuilds the values and runs the
asserts itself. The expected values never enter the candidate's process.

A test is "plannable" when ``check`` is a straight line of asserts, assignments and
``import math``, with candidate calls whose arguments do not depend on other candidate
calls, and the module around it holds only literal assignments. Loops, randomness and
calls to the prompt's own helpers are not: such tests run the old way, and a pass is
marked "unverifiable".
"""

from __future__ import annotations

import ast
import copy
import math
from dataclasses import dataclass
from typing import Any

from .confine import values

_FUNCS = {f.__name__: f for f in (abs, all, any, bool, dict, enumerate, float, frozenset, int,
                                  len, list, max, min, range, reversed, round, set, sorted, str,
                                  sum, tuple, zip, ord, chr, isinstance, divmod)}
_ON_VALUES = {"abs", "all", "any", "bool", "float", "frozenset", "int", "len", "list", "max",
              "min", "round", "set", "sorted", "str", "sum", "tuple", "isinstance"}
_NODES = (ast.Module, ast.Assign, ast.Assert, ast.Expr, ast.Import, ast.ImportFrom, ast.alias,
          ast.Pass, ast.Name, ast.Load, ast.Store, ast.Constant, ast.List, ast.Tuple, ast.Set,
          ast.Dict, ast.Compare, ast.cmpop, ast.BoolOp, ast.boolop, ast.UnaryOp, ast.unaryop,
          ast.BinOp, ast.operator, ast.Call, ast.keyword, ast.Attribute, ast.Subscript,
          ast.Slice, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp,
          ast.comprehension, ast.IfExp, ast.JoinedStr, ast.FormattedValue)
_GROWING = (ast.Mult, ast.Pow, ast.LShift, ast.MatMult)
_PREFIX = "__codex_v"


@dataclass(frozen=True)
class Plan:
    """What the child evaluates (``calls``) and what the parent then runs (``steps``)."""

    calls: tuple[str, ...]
    steps: tuple[tuple[str, Any, frozenset[int]], ...]  # (source, code, calls it uses)


class _NotPlannable(Exception):
    pass


def make_plan(test_code: str) -> Plan | None:
    """The plan for ``test_code`` (ending in ``check(entry_point)``), or None."""
    try:
        return _plan(ast.parse(test_code))
    except (_NotPlannable, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _plan(tree: ast.Module) -> Plan:
    check = entry = None
    env = _env()
    if not tree.body:
        raise _NotPlannable
    *body, last = tree.body
    if (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Name) and last.value.func.id == "check"
            and len(last.value.args) == 1 and isinstance(last.value.args[0], ast.Name)
            and not last.value.keywords):
        entry = last.value.args[0].id
    for node in body:
        if isinstance(node, ast.FunctionDef) and node.name == "check" and check is None:
            check = node
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            ast.literal_eval(node.value)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            raise _NotPlannable
    if check is None or entry is None or check.decorator_list:
        raise _NotPlannable
    args = check.args
    if len(args.args) != 1 or args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise _NotPlannable
    return _plan_body(check.body, args.args[0].arg, entry, env)


class _Planner:
    """Walks check's body: runs what does not depend on the candidate now (to compute
    the calls' arguments), and keeps every statement, in order, for ``judge``."""

    def __init__(self, param: str, entry: str, env: dict[str, Any]) -> None:
        self.param, self.entry, self.env = param, entry, env
        self.calls: list[str] = []
        self.steps: list[tuple[str, Any, frozenset[int]]] = []
        self.tainted: set[str] = set()

    def body(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Constant, ast.Name)):
                continue  # a comment string, or a bare name such as ``print``
            if isinstance(stmt, ast.For):
                self.loop(stmt)
            else:
                self.statement(stmt)

    def loop(self, stmt: ast.For) -> None:
        """A loop over values known here is unrolled: ``x = value`` then the body."""
        if stmt.orelse or not isinstance(stmt.target, ast.Name):
            raise _NotPlannable
        names = {n.id for n in ast.walk(stmt.iter) if isinstance(n, ast.Name)}
        if names & (self.tainted | {self.param, self.entry}):
            raise _NotPlannable
        _check_expr(stmt.iter)
        try:
            values = list(eval(compile(ast.Expression(stmt.iter), "<check>", "eval"), self.env))
        except Exception:
            raise _NotPlannable from None
        if len(values) > 1000:
            raise _NotPlannable
        for value in values:
            assign = ast.parse(f"{stmt.target.id} = {_literal(value)!r}").body[0]
            self.statement(ast.increment_lineno(assign, stmt.lineno - 1))
            self.body(stmt.body)

    def statement(self, stmt: ast.stmt) -> None:
        _check_nodes(stmt)
        used: set[int] = set()
        planner = self

        class Swap(ast.NodeTransformer):
            def visit_Call(self, node: ast.Call) -> ast.AST:
                if isinstance(node.func, ast.Name) and node.func.id in (planner.param,
                                                                       planner.entry):
                    planner.calls.append(_call_source(planner, node))
                    used.add(len(planner.calls) - 1)
                    return ast.copy_location(
                        ast.Name(f"{_PREFIX}{len(planner.calls) - 1}", ast.Load()), node)
                return self.generic_visit(node)

        stmt = ast.fix_missing_locations(Swap().visit(copy.deepcopy(stmt)))
        names = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
        if names & {self.param, self.entry}:
            raise _NotPlannable  # the candidate itself used as a value
        _check_names(stmt, set(self.env) | self.tainted | {f"{_PREFIX}{i}" for i in used})
        is_tainted = bool(used) or bool(names & self.tainted)
        if is_tainted:
            _check_taint(stmt, self.tainted)
        code = compile(ast.Module([stmt], []), "<check>", "exec")
        if isinstance(stmt, ast.Assign):
            targets = {n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            self.tainted = (self.tainted | targets) if is_tainted else (self.tainted - targets)
        if not is_tainted:
            _run(code, self.env)
        self.steps.append((ast.unparse(stmt), code, frozenset(used)))


def _plan_body(body: list[ast.stmt], param: str, entry: str, env: dict[str, Any]) -> Plan:
    planner = _Planner(param, entry, env)
    planner.body(body)
    if not planner.calls or len(planner.steps) > 5000:
        raise _NotPlannable
    return Plan(tuple(planner.calls), tuple(planner.steps))


def _literal(value: Any) -> Any:
    """``value`` if the child can be given it as source text that rebuilds it exactly."""
    try:
        text = repr(value)
        back = ast.literal_eval(text)
    except Exception:
        raise _NotPlannable from None
    if back != value or type(back) is not type(value) or len(text) > 100_000:
        raise _NotPlannable
    return value


def _check_names(stmt: ast.stmt, known: set[str]) -> None:
    """Every name the statement reads is known here (or bound inside it, or assigned)."""
    bound = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return
    for n in ast.walk(stmt):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in known \
                and n.id not in bound and n.id not in _FUNCS and n.id != "math":
            raise _NotPlannable


def _run(code: Any, env: dict[str, Any]) -> None:
    try:
        exec(code, env)
    except Exception:
        raise _NotPlannable from None


def _check_expr(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, _NODES) or isinstance(node, ast.For):
            raise _NotPlannable
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise _NotPlannable
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise _NotPlannable
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
            if module != "math" or (isinstance(node, ast.Import) and len(node.names) != 1):
                raise _NotPlannable


def _check_nodes(stmt: ast.stmt) -> None:
    if not isinstance(stmt, (ast.Assert, ast.Assign, ast.Pass, ast.Import, ast.ImportFrom)):
        raise _NotPlannable
    _check_expr(stmt)


def _check_taint(stmt: ast.stmt, tainted: set[str]) -> None:
    """Values from the candidate only flow through operations that cannot blow up here."""
    def dirty(node: ast.AST) -> bool:
        return any((isinstance(n, ast.Name) and (n.id.startswith(_PREFIX) or n.id in tainted))
                   for n in ast.walk(node))

    for node in ast.walk(stmt):
        if isinstance(node, ast.BinOp) and isinstance(node.op, _GROWING) and dirty(node):
            raise _NotPlannable
        if isinstance(node, ast.Attribute) and dirty(node.value):
            raise _NotPlannable
        if isinstance(node, ast.Call) and any(dirty(a) for a in node.args + node.keywords):
            ok = (isinstance(node.func, ast.Name) and node.func.id in _ON_VALUES) or (
                isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "math")
            if not ok:
                raise _NotPlannable


def _call_source(planner: _Planner, call: ast.Call) -> str:
    """``entry(<arguments as literals>)``: the arguments are computed here, now."""
    parts = []
    for arg in call.args + call.keywords:
        expr = arg.value if isinstance(arg, ast.keyword) else arg
        if isinstance(expr, ast.Starred) or (isinstance(arg, ast.keyword) and arg.arg is None):
            raise _NotPlannable
        if any(isinstance(n, ast.Name) and n.id in planner.tainted | {planner.param,
                                                                       planner.entry}
               for n in ast.walk(expr)):
            raise _NotPlannable
        try:
            value = eval(compile(ast.Expression(expr), "<check>", "eval"), planner.env)
        except Exception:
            raise _NotPlannable from None
        text = repr(_literal(value))
        parts.append(f"{arg.arg}={text}" if isinstance(arg, ast.keyword) else text)
    return f"{planner.entry}({', '.join(parts)})"


def judge(plan: Plan, results: dict[int, dict[str, Any]]) -> tuple[bool, str, str, str]:
    """Run the asserts here on the reported values: (passed, failing source, got, reason)."""
    env = _env()
    for i in range(len(plan.calls)):
        msg = results.get(i)
        if msg is not None and msg["exc"] is None and not _unencodable(msg["value"]):
            env[f"{_PREFIX}{i}"] = values.decode(msg["value"])  # ValueError: a protocol error
    for source, code, used in plan.steps:
        for i in sorted(used):
            msg = results.get(i)
            if msg is None:
                return False, source, "", "no result"
            if msg["exc"] is not None:
                return False, source, msg["exc"], "exception: " + msg["exc"].strip()[:200]
            if _unencodable(msg["value"]):
                return False, source, "", f"returned {str(msg['value']['x'])[:100]}, which " \
                    "cannot be checked outside the candidate's process"
        try:
            exec(code, env)
        except AssertionError:
            got = ", ".join(_short(env.get(f"{_PREFIX}{i}")) for i in sorted(used))
            return False, source, got, "wrong output"
        except Exception as e:  # what check() itself would have raised
            return False, source, "", f"exception: {type(e).__name__}: {str(e)[:200]}"
    return True, "", "", ""


def _unencodable(value: Any) -> bool:
    return isinstance(value, dict) and "x" in value


def _import(name: str, *args: Any, **kwargs: Any) -> Any:
    if name != "math":
        raise ImportError(name)
    return math


def _env() -> dict[str, Any]:
    """Where the parent runs check's statements: a few pure builtins and ``math``."""
    return {"__builtins__": {"__import__": _import}, **_FUNCS}


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = "?"
    return text if len(text) <= 300 else text[:300] + "..."
