"""The generic name → factory registry: build from a config spec, clear errors for bad names."""

from __future__ import annotations

import pytest

from plasticlab.registry import Registry


def test_build_passes_options_and_errors_name_what_exists():
    shapes: Registry = Registry("shape")
    shapes.register("square")(lambda side=1: ("square", side * side))
    shapes.register("line")(lambda length: ("line", length))
    assert shapes.build({"name": "square", "side": 3}) == ("square", 9)
    assert shapes.available() == ["line", "square"] and "line" in shapes and "circle" not in shapes
    with pytest.raises(KeyError, match=r"unknown shape 'circle'; available: line, square"):
        shapes.build({"name": "circle"})
    with pytest.raises(ValueError, match="registered twice"):
        shapes.register("line")(lambda: None)
    with pytest.raises(TypeError):
        shapes.build({"name": "line", "width": 2})  # an option the factory does not take
