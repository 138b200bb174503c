"""The interpreter: statements, pipelines, commands and functions, over :mod:`.exprs`.

Output: every statement whose value is not captured writes it to the current function's
output (arrays enumerated); a function's value is nothing ($null), one object, or an array.
Errors: ``throw`` and errors escalated by Stop end the script unless caught; a
statement-terminating error (a .NET exception, a binding error) outside any ``try`` with
``$ErrorActionPreference`` not Stop is written to the error stream and the script goes on."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tree_sitter import Node

from . import members
from .control import Control
from .convert import to_string
from .errors import BreakFlow, ContinueFlow, NetException, PSError, ReturnFlow, Timeout, Unsupported
from .exprs import INCREMENTS, collapse, emit
from .functions import Functions
from .scope import Variables, split_name
from .syntax import kids, line, parse, text, type_literal_key, unwrap
from .values import VOID

if TYPE_CHECKING:
    from .host import WindowsHost


class Interpreter(Control, Functions):
    """A strict interpreter for a subset of Windows PowerShell 5.1 on an emulated machine."""

    def __init__(self, host: WindowsHost) -> None:
        self.host = host
        self.errors: list[str] = []
        self.deadline: float | None = None
        self.reset()

    def reset(self) -> None:
        """A fresh process: no variables or functions but the automatic ones."""
        self.vars = Variables({"pid": ("PID", lambda: self.host.pid)})
        self.vars.write("global", "ErrorActionPreference", "Continue")
        self.try_depth = 0
        self.depth = 0

    # -- entry -------------------------------------------------------------------------------
    def run(self, script: str, out: list[Any]) -> None:
        """Run a script in the global scope, writing its output to ``out``."""
        root = parse(script)
        saved, self.vars.current, self.try_depth, self.depth = (
            self.vars.current,
            self.vars.global_scope,
            0,
            0,
        )
        try:
            for node in kids(root):
                if node.type != "statement_list":
                    raise Unsupported(f"script-level {node.type}", line(node))
                self.exec_list(node, out)
        except ReturnFlow:
            pass
        except (BreakFlow, ContinueFlow):
            raise Unsupported("break or continue outside a loop") from None
        finally:
            self.vars.current = saved

    def tick(self) -> None:
        """Stop when the request's time is up."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Timeout()

    # -- errors ------------------------------------------------------------------------------
    def preference(self) -> str:
        """``$ErrorActionPreference`` as seen from the current scope."""
        return to_string(self.vars.read(None, "ErrorActionPreference", 0)).lower()

    def write_error(self, err: PSError) -> None:
        """Write a record to the error stream."""
        self.errors.append(err.formatted())

    def cmdlet_error(
        self, cmdlet: str, message: str, bound: dict[str, Any], type_name: str = ""
    ) -> None:
        """A cmdlet's (non-terminating) error under its error action."""
        err = PSError(NetException(type_name or "System.Exception", message), command=cmdlet)
        action = bound.get("ErrorAction") or self.preference()
        if action == "stop":
            err.script_terminating = True
            raise err
        if action == "continue":
            self.write_error(err)
        elif action not in ("silentlycontinue", "ignore"):
            raise Unsupported(f"$ErrorActionPreference {action!r}")

    # -- statements --------------------------------------------------------------------------
    def exec_list(self, node: Node | None, out: list[Any]) -> None:
        """Run a statement list."""
        for statement in kids(node) if node is not None else []:
            self.tick()
            try:
                self.exec_statement(statement, out)
            except PSError as err:
                self.statement_failed(err)

    def statement_failed(self, err: PSError) -> None:
        """An error left a statement: propagate it (inside ``try``, script-terminating, or
        escalated by Stop), or write it to the error stream and go on with the next one."""
        if self.try_depth > 0:
            raise err
        action = self.preference()
        if err.script_terminating:
            if err.thrown and action in ("silentlycontinue", "ignore"):
                raise Unsupported(f"throw under $ErrorActionPreference {action}") from None
            raise err
        if action == "stop":
            err.script_terminating = True
            raise err
        if action == "continue":
            self.write_error(err)
        elif action not in ("silentlycontinue", "ignore"):
            raise Unsupported(f"$ErrorActionPreference {action!r}") from None

    def exec_statement(self, node: Node, out: list[Any]) -> None:
        """Run one statement."""
        kind = node.type
        if kind == "pipeline":
            self.exec_pipeline(node, out)
        elif kind == "empty_statement":
            return
        elif kind == "function_statement":
            self.define_function(node)
        elif kind == "if_statement":
            self.exec_if(node, out)
        elif kind == "foreach_statement":
            self.exec_foreach(node, out)
        elif kind == "for_statement":
            self.exec_for(node, out)
        elif kind == "while_statement":
            self.exec_while(node, out)
        elif kind == "try_statement":
            self.exec_try(node, out)
        elif kind == "flow_control_statement":
            self.exec_flow(node, out)
        else:
            raise Unsupported(f"statement {kind}", line(node))

    def exec_pipeline(self, node: Node, out: list[Any]) -> None:
        """A pipeline statement: an assignment (writes nothing) or a chain."""
        parts = kids(node)
        if len(parts) != 1:
            raise Unsupported("&& / || pipeline chains", line(node))
        inner = parts[0]
        if inner.type == "assignment_expression":
            self.assign(inner)
        elif inner.type == "pipeline_chain":
            self.exec_chain(inner, out)
        else:
            self.emit_element(inner, out)

    def exec_chain(self, node: Node, out: list[Any]) -> None:
        """``A`` or ``A | Out-Null`` (no other pipeline target is emulated)."""
        elements = kids(node)
        if len(elements) == 1:
            self.emit_element(elements[0], out)
            return
        last = elements[-1]
        name = last.child_by_field_name("command_name") if last.type == "command" else None
        if (
            len(elements) != 2
            or name is None
            or text(name).lower() != "out-null"
            or len(kids(last)) > 1
        ):
            raise Unsupported(f"pipeline into {text(last)[:40]!r} (only | Out-Null)", line(node))
        self.emit_element(elements[0], [])

    def emit_element(self, node: Node, out: list[Any]) -> None:
        """Run a command or expression, writing its output."""
        if node.type == "command":
            out.extend(self.run_command(node))
            return
        inner = unwrap(node)
        if inner.type in INCREMENTS:
            self.eval(inner)
            return
        emit(self.eval(inner), out)

    def pipeline_value(self, node: Node) -> Any:
        """A pipeline used as a value: an expression's value, or a command's collapsed output."""
        if node.type != "pipeline":
            return self.value(node)
        parts = kids(node)
        if len(parts) != 1:
            raise Unsupported("&& / || pipeline chains", line(node))
        inner = parts[0]
        if inner.type == "assignment_expression":
            return self.assign(inner)
        if (
            inner.type == "pipeline_chain"
            and len(kids(inner)) == 1
            and kids(inner)[0].type != "command"
        ):
            value = self.eval(kids(inner)[0])
            return None if value is VOID else value
        items: list[Any] = []
        if inner.type == "pipeline_chain":
            self.exec_chain(inner, items)
        else:
            self.emit_element(inner, items)
        return collapse(items)

    # -- assignment --------------------------------------------------------------------------
    def assign(self, node: Node) -> Any:
        """``target = value`` / ``target += value`` ...; returns the value assigned."""
        target = kids(node)[0]
        op = text(next(k for k in kids(node) if k.type == "assignement_operator")).strip()
        value_node = node.child_by_field_name("value")
        if value_node is None:
            raise Unsupported("assignment without a value", line(node))
        value = self.pipeline_value(value_node)
        if op != "=":
            if op not in ("+=", "-=", "*=", "/=", "%="):
                raise Unsupported(f"assignment operator {op}", line(node))
            from . import ops

            value = ops.arith(op[0], self.value(target), value)
        self.store(target, value)
        return value

    def store(self, target: Node, value: Any) -> None:
        """Write ``value`` to a variable, an element or a member."""
        node = unwrap(target)
        if node.type == "variable":
            qualifier, name = split_name(text(node), line(node))
            self.vars.write(qualifier, name, value)
        elif node.type == "cast_expression" and unwrap(kids(node)[-1]).type == "variable":
            qualifier, name = split_name(text(unwrap(kids(node)[-1])), line(node))
            self.vars.write(qualifier, name, value, type_literal_key(kids(node)[0]))
        elif node.type == "element_access":
            container, index = self.value(kids(node)[0]), self.value(kids(node)[-1])
            members.set_index(container, index, value, line(node))
        elif node.type == "member_access" and not any(c.type == "::" for c in node.children):
            obj = self.value(kids(node)[0])
            members.set_member(obj, self.member_name(kids(node)[-1]), value, line(node))
        else:
            raise Unsupported(f"assignment to {node.type}", line(node))

    # -- functions and commands --------------------------------------------------------------
