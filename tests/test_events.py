"""Event types are constants in one module, all documented; subscribers are registered in one
table, and the application's dispatcher holds exactly that table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from fastapi import FastAPI

import studyhall
from studyhall import event_types
from studyhall.core.events import HandlerRegistry
from studyhall.subscribers import SUBSCRIBERS, handler_registry

SOURCE = Path(studyhall.__file__).parent
EVENTS_DOC = SOURCE.parents[1] / "docs" / "events.md"
#: Still emits with string literals; the names it uses must exist as constants all the same.
LITERAL_EMITTERS = {"catalog/service.py"}

CONSTANTS = {
    name: value for name, value in vars(event_types).items() if name.isupper() and isinstance(value, str)
}


def _modules() -> dict[str, ast.Module]:
    return {str(path.relative_to(SOURCE)): ast.parse(path.read_text()) for path in SOURCE.rglob("*.py")}


def _is_constant(node: ast.expr) -> bool:
    """`event_types.NAME`, or a choice between two of them."""
    if isinstance(node, ast.IfExp):
        return _is_constant(node.body) and _is_constant(node.orelse)
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "event_types"
        and node.attr in CONSTANTS
    )


def _emitted(tree: ast.Module) -> list[ast.expr]:
    return [
        node.args[1]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "emit"
        and len(node.args) >= 2
    ]


def test_constants_are_their_values_spelt_as_names() -> None:
    assert CONSTANTS, "event_types holds the event types"
    assert {name: value.upper().replace(".", "_") for name, value in CONSTANTS.items()} == {
        name: name for name in CONSTANTS
    }
    assert len(set(CONSTANTS.values())) == len(CONSTANTS)


def test_every_emit_names_its_event_type_by_constant() -> None:
    offenders: dict[str, list[str]] = {}
    emitters = set()
    for path, tree in _modules().items():
        for event in _emitted(tree):
            emitters.add(path)
            if path in LITERAL_EMITTERS:
                literal = event.value if isinstance(event, ast.Constant) else None
                if literal is not None and literal not in CONSTANTS.values():
                    offenders.setdefault(path, []).append(str(literal))
            elif not _is_constant(event):
                offenders.setdefault(path, []).append(ast.unparse(event))
    assert offenders == {}
    assert {"identity/service.py", "learning/service.py", "assessment/service.py"} <= emitters


def test_every_event_type_is_documented_with_its_subscribers() -> None:
    rows = [line for line in EVENTS_DOC.read_text().splitlines() if line.startswith("| `")]
    documented = {
        name: row for row in rows for name in re.findall(r"`([a-z_]+\.[a-z_]+)`", row.split("|")[1])
    }
    assert set(documented) == set(CONSTANTS.values())
    for event_type, handlers in SUBSCRIBERS.items():
        for handler in handlers:
            assert f"`{handler.__name__}`" in documented[event_type], (event_type, handler.__name__)


def test_handlers_subscribe_only_through_the_one_table() -> None:
    subscribing = {
        path
        for path, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "on"
    }
    assert subscribing == {"subscribers.py"}
    assert set(SUBSCRIBERS) <= set(CONSTANTS.values())


def test_the_application_dispatches_to_exactly_the_subscribers(app: FastAPI) -> None:
    registry: HandlerRegistry = app.state.dispatcher.handlers
    assert set(registry.event_types()) == set(SUBSCRIBERS)
    for event_type, handlers in SUBSCRIBERS.items():
        assert registry.handlers_for(event_type) == list(handlers)
    assert set(handler_registry().event_types()) == set(SUBSCRIBERS), "each call builds a full registry"
