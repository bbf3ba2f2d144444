"""How a family's training options (a frozen dataclass holding its architecture as `model`) go to JSON and back.

The layered and texture families store them in every snapshot: `to_json` gives the optimisation options (the
architecture is stored beside them by the family), and `from_json` rebuilds the options from both, ignoring
keys it does not know (an option a newer seedgen added), with tuples restored from JSON lists.
"""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any


class TrainingJson:
    """Mixin for a dataclass with a `model` field (built by a default factory whose class has `from_json`)."""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)  # type: ignore[call-overload]
        out.pop("model")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_json(cls, model: dict[str, Any], training: dict[str, Any]):
        declared = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
        values = {k: v for k, v in training.items() if k in declared and k != "model"}
        for key, value in values.items():
            if isinstance(value, list) and isinstance(declared[key].default, tuple):
                values[key] = tuple(value)
        model_class = declared["model"].default_factory  # type: ignore[misc]
        return cls(model=model_class.from_json(model), **values)
