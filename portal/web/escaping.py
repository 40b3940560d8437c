"""Output escaping for the portal's templates, without building a Markup object per value.

Jinja writes every `{{ value }}` of an autoescaped template as `escape(value)`: markupsafe's escape,
which returns a Markup made by a Python-level constructor. A list page writes a few hundred values,
and those constructors were a fifth of its rendering time. What is written in that position is only
ever joined into the output (macros, `{% set %}` blocks and filter blocks wrap their joined output in
Markup themselves), so a plain escaped str serves, and numbers need no escaping at all.

Jinja also yields every piece of text and every value on its own, and each yield climbs through the
generators of the blocks and layouts around it (five of them on a portal page). A run of text and
values between two tags is yielded here as one joined string."""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, nodes
from jinja2.compiler import CodeGenerator, Frame
from markupsafe import Markup, escape

try:  # markupsafe's C escaper, the one escape() itself calls
    from markupsafe._speedups import _escape_inner
except ImportError:  # pragma: no cover - markupsafe without its C extension
    def _escape_inner(text: str) -> str:
        return str(escape(text))


def escape_text(value: Any) -> str:
    """What markupsafe.escape(value) writes, as a str."""
    kind = type(value)
    if kind is str:
        return _escape_inner(value)
    if kind is int:
        return str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return _escape_inner(str(value))


class _CodeGenerator(CodeGenerator):
    def _output_child_pre(self, node, frame: Frame, finalize) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("environment.escape_text(")
        if finalize.src is not None:
            self.write(finalize.src)

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        """Jinja 3.1's visit_Output, except that outside a buffer (macros, `set` and filter blocks
        have one) a node of several parts is written as one `yield ''.join((...))`, as Jinja writes
        it into a buffer with `extend((...))`. Every part is a str: text, escape_text() or str()."""
        if frame.buffer is not None:
            super().visit_Output(node, frame)
            return
        if frame.require_output_check:
            if self.has_known_extends:  # a top-level extends: nothing is written outside a block
                return
            self.writeline("if parent_template is None:")
            self.indent()
        finalize = self._make_finalize()
        body: list[list[Any] | nodes.Expr] = []
        for child in node.nodes:  # constants are joined at compile time, as Jinja does
            try:
                if not (finalize.const or isinstance(child, nodes.TemplateData)):
                    raise nodes.Impossible()
                const = self._output_child_to_const(child, frame, finalize)
            except (nodes.Impossible, Exception):
                body.append(child)
                continue
            if body and isinstance(body[-1], list):
                body[-1].append(const)
            else:
                body.append([const])
        joined = len(body) > 1
        if joined:
            self.writeline("yield ''.join((")
            self.indent()
        for item in body:
            if isinstance(item, list):
                value = self._output_const_repr(item)
                self.writeline(value + "," if joined else "yield " + value)
                continue
            if joined:
                self.newline(item)
            else:
                self.writeline("yield ", item)
            self._output_child_pre(item, frame, finalize)
            self.visit(item, frame)
            self._output_child_post(item, frame, finalize)
            if joined:
                self.write(",")
        if joined:
            self.outdent()
            self.writeline("))")
        if frame.require_output_check:
            self.outdent()


class PortalEnvironment(Environment):
    code_generator_class = _CodeGenerator
    escape_text = staticmethod(escape_text)


_STAFF_PATH = re.compile(r"(?<![\w/])(/staff/[A-Za-z0-9_\-/]*[A-Za-z0-9_\-])")


def link_paths(text: str) -> Markup:
    """A task's note with the portal's own staff pages in it made links: "Open the dispute:
    /staff/disputes/4" can be clicked. Everything else stays escaped text; only paths under /staff/
    become links, so a note can never link elsewhere."""
    escaped = _escape_inner(str(text))
    return Markup(_STAFF_PATH.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', escaped))
