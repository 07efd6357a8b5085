"""Keep pydantic off policyctl's start-up path (typer 0.29 and later).

typer 0.29 began coercing every parameter value through a pydantic ``TypeAdapter``; importing
pydantic costs about 80 ms on every run, a third of ``policyctl lint``'s time in a pre-commit hook.
For parameters annotated ``str``, ``bool``, their ``Optional`` forms or a list of ``str``, click has
already produced exactly those values, so :func:`apply` passes them through; a plain decimal for an
``int`` or ``float`` parameter it converts itself; everything else it leaves to typer.

This reaches into typer's private classes, so it is contained: it is applied from ``main()`` (not
at import, so importing :mod:`policyctl.cli` changes nothing process-wide), ``pyproject.toml``
admits only the typer minor versions CI tests (the lowest declared and the newest), and
``tests/test_cli_basics.py::test_lint_start_up_does_not_import_pydantic`` fails loudly if a typer
release makes the patch stop working (pydantic back on the lint path) or break.
"""

from __future__ import annotations

import re

#: a plain decimal number, which int() and float() read exactly as typer's coercion does
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?", re.ASCII)


def apply() -> bool:
    """Keep pydantic off the start-up path of every command.

    Recent typer releases coerce every parameter value through a pydantic ``TypeAdapter``, which
    imports pydantic (~80 ms) on each run — a third of ``policyctl lint``'s time in a pre-commit
    hook. For parameters annotated ``str``, ``bool`` (flags such as ``--help``), their ``Optional``
    forms or a list of ``str``, click has already produced exactly those values, so they are passed
    through as is; for ``int`` and ``float`` (and their ``Optional`` forms) click hands over the
    text, and a plain decimal (``80``, ``-2.5``) is converted here with ``int``/``float``, which read
    it as typer's coercion does. Any other annotation or value (``1e3``, ``inf``, a typo: typer's
    own message), and any typer without this machinery, keeps typer's own coercion.
    """
    try:
        from typing import List, Optional

        from typer import core as typer_core
        from typer._coercion import RuntimeParam, build_runtime_param
    except ImportError:  # typer before 0.29 coerces without pydantic: nothing to adjust
        return False
    param_cls = getattr(typer_core, "_TyperParameter", None)
    original = getattr(param_cls, "get_runtime_param", None)
    if param_cls is None or original is None:
        return False
    if getattr(original, "_policyctl_plain", False):
        return True  # applied already (main() called twice in one process, as tests do)
    lists = (List[str], Optional[List[str]], list[str])
    flags = (bool, Optional[bool])
    numbers = {int: (int, Optional[int]), float: (float, Optional[float])}
    plain = (str, Optional[str]) + flags + lists + numbers[int] + numbers[float]

    class _Plain(RuntimeParam):  # type: ignore[misc]
        def _coerce_value(self, value, param, ctx):  # type: ignore[no-untyped-def]
            if isinstance(value, str) and any(self.annotation == f for f in numbers[float]):
                if _DECIMAL.fullmatch(value):  # anything else (1e3, inf, a typo): typer's own coercion
                    return float(value)
            elif isinstance(value, str) and any(self.annotation == f for f in numbers[int]):
                if _DECIMAL.fullmatch(value) and "." not in value:
                    try:
                        return int(value)
                    except ValueError:  # beyond int()'s digit limit (4300): typer's own message, exit 2
                        pass
            elif isinstance(value, bool):
                if any(self.annotation == f for f in flags):
                    return value
            elif isinstance(value, str):
                if any(self.annotation == f for f in (str, Optional[str])):
                    return value
            elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                if any(self.annotation == f for f in lists):
                    return list(value)
            return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self):  # type: ignore[no-untyped-def]
        desc = getattr(self, "type_descriptor", None)
        if (getattr(self, "_runtime_param", None) is None and desc is not None
                and getattr(desc, "file_annotation", None) is None
                and not getattr(desc, "is_ranged", False) and not getattr(desc, "is_choice", False)
                and any(desc.annotation == p for p in plain)):
            try:
                self._runtime_param = _Plain(parameter_info=desc.parameter_info, annotation=desc.annotation)
            except TypeError:  # RuntimeParam's fields changed: let typer do it
                pass
        return original(self)

    get_runtime_param._policyctl_plain = True  # type: ignore[attr-defined]
    param_cls.get_runtime_param = get_runtime_param
    return True


