"""Functions and commands: definitions, parameter binding, calls of the script's functions
and of the emulated cmdlets."""

from __future__ import annotations

from typing import Any

from tree_sitter import Node

from .binding import MISSING, Token, bind
from .cmdlets import CMDLETS
from .convert import coerce_param, default_of
from .errors import BreakFlow, ContinueFlow, ReturnFlow, Unsupported, runtime_error
from .exprs import Evaluator
from .scope import Function, Param, Scope, split_name
from .syntax import kids, line, text, type_literal_key

MAX_DEPTH = 100


class Functions(Evaluator):
    """Function definitions and command calls (a mixin of the interpreter)."""

    depth: int

    def cmdlet_error(
        self, cmdlet: str, message: str, bound: dict[str, Any], type_name: str = ""
    ) -> None:  # pragma: no cover - provided by Interpreter
        raise NotImplementedError

    def define_function(self, node: Node) -> None:
        """``function Name { param(...) ... }`` (also ``function Name($a) { }``)."""
        name = text(next(k for k in kids(node) if k.type == "function_name"))
        block = next((k for k in kids(node) if k.type == "script_block"), None)
        declared = next((k for k in kids(node) if k.type == "function_parameter_declaration"), None)
        params: list[Param] = []
        body = None
        if declared is not None:
            params = self._params(
                next((k for k in kids(declared) if k.type == "parameter_list"), None)
            )
        if block is not None:
            for part in kids(block):
                if part.type == "param_block":
                    if declared is not None:
                        raise Unsupported("both a parameter declaration and param()", line(part))
                    extra = [k for k in kids(part) if k.type != "parameter_list"]
                    if extra:
                        raise Unsupported(f"{extra[0].type} in param()", line(part))
                    params = self._params(
                        next((k for k in kids(part) if k.type == "parameter_list"), None)
                    )
                elif part.type == "script_block_body":
                    body = part.child_by_field_name("statement_list")
                else:
                    raise Unsupported(f"function part {part.type}", line(part))
        self.vars.current.functions[name.lower()] = Function(name, params, body, line(node))

    def _params(self, node: Node | None) -> list[Param]:
        params: list[Param] = []
        for p in kids(node) if node is not None else []:
            var = next(k for k in kids(p) if k.type == "variable")
            default = next((k for k in kids(p) if k.type == "script_parameter_default"), None)
            type_key = None
            for attrs in (k for k in kids(p) if k.type == "attribute_list"):
                for attr in kids(attrs):
                    literal = kids(attr)[0] if len(kids(attr)) == 1 else None
                    if literal is None or literal.type != "type_literal" or type_key is not None:
                        raise Unsupported(f"parameter attribute {text(attr)}", line(attr))
                    type_key = type_literal_key(literal)
            value = kids(default)[-1] if default is not None else None
            params.append(Param(split_name(text(var), line(var))[1], type_key, value))
        return params

    def command_tokens(self, node: Node) -> list[Token]:
        """The parameters and evaluated arguments of a command."""
        elements = node.child_by_field_name("command_elements")
        tokens: list[Token] = []
        pending: Token | None = None
        for el in kids(elements) if elements is not None else []:
            if el.type == "command_argument_sep":
                continue
            if el.type == "command_parameter":
                raw = text(el)
                tok = Token(raw[1:].rstrip(":"), MISSING, line(el))
                tokens.append(tok)
                pending = tok if raw.endswith(":") else None
                continue
            if el.type == "generic_token":
                if kids(el) or any(c in text(el) for c in "$`'\"@{}()"):
                    raise Unsupported(f"bare word {text(el)!r}", line(el))
                value: Any = text(el)
            elif el.type in ("redirection", "stop_parsing", "verbatim_command_argument"):
                raise Unsupported(f"command element {el.type}", line(el))
            else:
                value = self.value(el)
            if pending is not None:
                pending.value, pending = value, None
            else:
                tokens.append(Token(None, value, line(el)))
        return tokens

    def run_command(self, node: Node) -> list[Any]:
        """Call a function of the script or an emulated cmdlet; returns its output."""
        name_node = node.child_by_field_name("command_name")
        if name_node is None or any(k.type == "command_invokation_operator" for k in kids(node)):
            raise Unsupported(f"command form {text(node)[:40]!r}", line(node))
        name = text(name_node)
        tokens = self.command_tokens(node)
        fn = self.vars.find_function(name)
        if fn is not None:
            return self.call_function(fn, tokens)
        cmdlet = CMDLETS.get(name.lower())
        if cmdlet is None:
            raise Unsupported(f"command {name}", line(node))
        return cmdlet.invoke(self, tokens)

    def call_function(self, fn: Function, tokens: list[Token]) -> list[Any]:
        """Bind the arguments, run the body in a new scope, return what it wrote."""
        spec = {p.name: p.type_key == "switch" for p in fn.params}
        bound = bind(
            fn.name,
            spec,
            [p.name for p in fn.params if p.type_key != "switch"],
            tokens,
            strict=False,
        )
        if self.depth >= MAX_DEPTH:
            raise runtime_error("The script failed due to call depth overflow.")
        scope = Scope(parent=self.vars.current)
        saved = self.vars.current
        self.vars.current, self.depth = scope, self.depth + 1
        out: list[Any] = []
        try:
            for p in fn.params:
                if p.name in bound:
                    value = coerce_param(p.type_key, bound[p.name], p.name)
                elif p.default is not None:
                    value = coerce_param(p.type_key, self.value(p.default), p.name)
                else:
                    value = default_of(p.type_key)
                self.vars.write("local", p.name, value, p.type_key)
            self.exec_list(fn.body, out)
        except ReturnFlow:
            pass
        except (BreakFlow, ContinueFlow):
            raise Unsupported(
                f"break or continue leaving the function {fn.name}", fn.line
            ) from None
        finally:
            self.vars.current, self.depth = saved, self.depth - 1
        return out
