"""Output escaping for the portal's templates, without building a Markup object per value.

Jinja writes every `{{ value }}` of an autoescaped template as `escape(value)`: markupsafe's escape,
which returns a Markup made by a Python-level constructor. A list page writes a few hundred values,
and those constructors were a fifth of its rendering time. What is written in that position is only
ever joined into the output (macros, `{% set %}` blocks and filter blocks wrap their joined output in
Markup themselves), so a plain escaped str serves, and numbers need no escaping at all."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from jinja2.compiler import CodeGenerator, Frame
from markupsafe import escape

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


class PortalEnvironment(Environment):
    code_generator_class = _CodeGenerator
    escape_text = staticmethod(escape_text)
