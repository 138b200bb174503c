"""Control flow: ``if``, ``foreach``, ``for``, ``while``, ``try/catch/finally``, ``return``,
``break``, ``continue`` and ``throw``."""

from __future__ import annotations

from typing import Any

from tree_sitter import Node

from .convert import to_string, truthy
from .errors import (
    RUNTIME,
    BreakFlow,
    ContinueFlow,
    HostCrash,
    NetException,
    PSError,
    ReturnFlow,
    Unsupported,
)
from .exprs import Evaluator
from .scope import split_name
from .syntax import kids, line, text
from .values import ErrorRecord, KeysView


def field(node: Node, name: str) -> Node:
    """The child in field ``name`` (Unsupported when the grammar left it out)."""
    found = node.child_by_field_name(name)
    if found is None:
        raise Unsupported(f"{node.type} without its {name}", line(node))
    return found


class Control(Evaluator):
    """The compound statements (a mixin of the interpreter)."""

    try_depth: int

    def tick(self) -> None:  # pragma: no cover - provided by Interpreter
        raise NotImplementedError

    def exec_pipeline(self, node: Node, out: list[Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def exec_chain(self, node: Node, out: list[Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def exec_block(self, node: Node | None, out: list[Any]) -> None:
        """Run a ``{ ... }`` block."""
        if node is not None:
            self.exec_list(node.child_by_field_name("statement_list"), out)

    def exec_if(self, node: Node, out: list[Any]) -> None:
        """``if / elseif / else``."""
        blocks = [k for k in kids(node) if k.type == "statement_block"]
        if truthy(self.pipeline_value(field(node, "condition"))):
            self.exec_block(blocks[0], out)
            return
        for clause in kids(node):
            if clause.type == "elseif_clauses":
                for branch in kids(clause):
                    if truthy(self.pipeline_value(field(branch, "condition"))):
                        self.exec_block(
                            next(k for k in kids(branch) if k.type == "statement_block"), out
                        )
                        return
            elif clause.type == "else_clause":
                self.exec_block(next(k for k in kids(clause) if k.type == "statement_block"), out)

    def _loop_body(self, body: Node | None, out: list[Any]) -> bool:
        """Run a loop body; False when it broke out."""
        try:
            self.exec_block(body, out)
        except BreakFlow:
            return False
        except ContinueFlow:
            pass
        return True

    def exec_foreach(self, node: Node, out: list[Any]) -> None:
        """``foreach ($x in ...)``: $null iterates zero times, a scalar once."""
        parts = kids(node)
        var = next(k for k in parts if k.type == "variable")
        source = next(k for k in parts if k.type == "pipeline")
        body = next((k for k in parts if k.type == "statement_block"), None)
        chain = kids(source)[0] if len(kids(source)) == 1 else None
        if (
            chain is not None
            and chain.type == "pipeline_chain"
            and (len(kids(chain)) > 1 or kids(chain)[0].type == "command")
        ):
            items: Any = []
            self.exec_chain(chain, items)
        else:
            items = self.pipeline_value(source)
        qualifier, name = split_name(text(var), line(var))
        iterator = (
            items.iterate()
            if isinstance(items, KeysView)
            else (items if isinstance(items, list) else ([] if items is None else [items]))
        )
        for item in iterator:
            self.tick()
            self.vars.write(qualifier, name, item)
            if not self._loop_body(body, out):
                break

    def exec_for(self, node: Node, out: list[Any]) -> None:
        """``for (init; condition; iterator)``."""
        init, cond = (
            node.child_by_field_name("for_initializer"),
            node.child_by_field_name("for_condition"),
        )
        step = node.child_by_field_name("for_iterator")
        body = next((k for k in kids(node) if k.type == "statement_block"), None)
        if init is not None:
            self.exec_pipeline(kids(init)[0], out)
        while cond is None or truthy(self.pipeline_value(kids(cond)[0])):
            self.tick()
            if not self._loop_body(body, out):
                break
            if step is not None:
                self.exec_pipeline(kids(step)[0], out)

    def exec_while(self, node: Node, out: list[Any]) -> None:
        """``while (condition)``."""
        cond = kids(field(node, "condition"))[0]
        body = next((k for k in kids(node) if k.type == "statement_block"), None)
        while truthy(self.pipeline_value(cond)):
            self.tick()
            if not self._loop_body(body, out):
                break

    def exec_try(self, node: Node, out: list[Any]) -> None:
        """``try { } catch { } finally { }`` (catch without a type)."""
        body = next(k for k in kids(node) if k.type == "statement_block")
        catches = [c for k in kids(node) if k.type == "catch_clauses" for c in kids(k)]
        final = next((k for k in kids(node) if k.type == "finally_clause"), None)
        for clause in catches:
            if any(k.type != "statement_block" for k in kids(clause)):
                raise Unsupported("catch with a type", line(clause))
        try:
            try:
                self.try_depth += 1
                try:
                    self.exec_block(body, out)
                finally:
                    self.try_depth -= 1
            except PSError as err:
                if not catches:
                    raise
                self.run_catch(catches[0], err, out)
        except HostCrash:
            raise  # a killed process runs no finally block
        except BaseException:
            if final is not None:
                self.exec_block(kids(final)[0], out)
            raise
        if final is not None:
            self.exec_block(kids(final)[0], out)

    def run_catch(self, clause: Node, err: PSError, out: list[Any]) -> None:
        """A catch block with ``$_`` set to the error record."""
        scope = self.vars.current
        saved = scope.vars.get("_")
        self.vars.write("local", "_", ErrorRecord(err))
        try:
            self.exec_block(kids(clause)[0], out)
        finally:
            if saved is None:
                scope.vars.pop("_", None)
            else:
                scope.vars["_"] = saved

    def exec_flow(self, node: Node, out: list[Any]) -> None:
        """``return``, ``break``, ``continue``, ``throw``."""
        keyword = text(node.children[0]).lower()
        value = next((k for k in kids(node) if k.type == "pipeline"), None)
        if keyword == "return":
            if value is not None:
                self.exec_pipeline(value, out)
            raise ReturnFlow()
        if keyword in ("break", "continue"):
            if kids(node):
                raise Unsupported(f"{keyword} with a label", line(node))
            raise BreakFlow() if keyword == "break" else ContinueFlow()
        if keyword == "throw":
            raise self.thrown(None if value is None else self.pipeline_value(value), value is None)
        raise Unsupported(f"{keyword} statement", line(node))

    def thrown(self, value: Any, bare: bool) -> PSError:
        """The error ``throw <value>`` raises."""
        err = self._thrown(value, bare)
        err.script_terminating = err.thrown = True
        return err

    def _thrown(self, value: Any, bare: bool) -> PSError:
        if isinstance(value, ErrorRecord):
            value.error.script_terminating = True
            return value.error
        if bare:
            current = self.vars.read(None, "_", 0)
            if isinstance(current, ErrorRecord):
                current.error.script_terminating = True
                return current.error
            value = "ScriptHalted"
        if isinstance(value, NetException):
            return PSError(value, script_terminating=True, target=value)
        message = to_string(value) if value is not None else "ScriptHalted"
        return PSError(
            NetException(RUNTIME, message),
            script_terminating=True,
            target=value,
        )

    # -- pipelines ---------------------------------------------------------------------------
