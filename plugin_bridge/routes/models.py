"""What can be generated, and how: the models on offer and the generate options with their limits."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException

from plugin_bridge.api_schema import ModelList, OptionsOut, options_out
from plugin_bridge.routes.state import Config
from plugin_bridge.settings import BridgeConfig

router = APIRouter()


@router.get("/api/models", response_model=ModelList, summary="Models that can generate seeds")
def models(config: Config) -> ModelList:
    return ModelList(models=known_models(config))


@router.get("/api/options", response_model=OptionsOut,
            summary="The generate options: defaults, ranges, choices and help (what the panel offers)")
def options() -> OptionsOut:
    return options_out()


def known_models(config: BridgeConfig) -> list[dict]:
    """The packaged models, then the checkpoints `seedgen serve --model` offered."""
    return _list_models() + [_checkpoint_entry(Path(p)) for p in config.extra_models]


def _list_models() -> list[dict]:
    try:
        from seedgen.generation.seed_model import list_models

        packaged = list_models()
    except ImportError as exc:  # the model code needs torch
        raise HTTPException(503, f"the generation engine is not available ({exc})") from exc
    return [{k: (str(v) if isinstance(v, Path) else v) for k, v in m.items()} for m in packaged]


def _checkpoint_entry(path: Path) -> dict:
    """A model entry, like seedgen's list_models(), for a checkpoint file given with `seedgen serve --model`."""
    from seedgen.generation.seed_model import model_entry

    return model_entry(path.expanduser().resolve())
