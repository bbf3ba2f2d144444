"""`seedgen serve`: run the local bridge that the InDesign panel talks to."""
from __future__ import annotations

from pathlib import Path

import click

from augment.output import one_line
from plugin_bridge.settings import PORT_RANGE, QUEUE_RANGE, WORKERS_RANGE, BridgeConfig
from seedgen.failure import InputFailure, UsageFailure

DEFAULT_LIBRARY = Path.home() / "seedgen-library"


@click.command(
    "serve",
    epilog="\b\nExample:\n  seedgen serve --library ~/seedgen-library --port 8765",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--port", type=click.IntRange(*PORT_RANGE), default=BridgeConfig.port, show_default=True,
              help="TCP port (0 picks a free one). The panel expects 8765.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Keep loopback unless you know why not.")
@click.option("--library", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_LIBRARY,
              show_default=True, help="Folder of seeds the panel browses and generation writes to.")
@click.option("--workers", type=click.IntRange(*WORKERS_RANGE), default=BridgeConfig.workers, show_default=True,
              help="Jobs that run at the same time.")
@click.option("--queue", "queue_size", type=click.IntRange(*QUEUE_RANGE), default=BridgeConfig.queue, show_default=True,
              help="Jobs that may wait; more are refused (HTTP 429).")
@click.option("--allow-origin", "origins", multiple=True,
              help="Extra CORS origin allowed to call the bridge (repeatable; exact origins, no '*').")
@click.option("--model", "models", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A checkpoint (.safetensors) the panel may generate with, besides the packaged models (repeatable).")
@click.option("--no-preload", is_flag=True,
              help="Start a job's process only when the job arrives (saves the memory of a loaded idle process).")
@click.option("--show-token", is_flag=True, help="Print the stored token at start-up.")
def command(port: int, host: str, library: Path, workers: int, queue_size: int, origins: tuple[str, ...],
            models: tuple[Path, ...], no_preload: bool, show_token: bool) -> None:
    """Run the local bridge between seedgen and the InDesign panel (generate, browse, place seeds).

    On first start a private token is created and printed; paste it into the panel once.
    """
    from plugin_bridge.auth import TokenError
    from plugin_bridge.runner import BridgeStartError, serve
    from plugin_bridge.server import UXP_ORIGINS, BridgeConfig

    if "*" in origins:
        raise click.UsageError("--allow-origin '*' is not allowed; list exact origins")
    _check_models(models)
    try:
        config = BridgeConfig(host=host, port=port, workers=workers, queue=queue_size,
                              allowed_origins=UXP_ORIGINS + tuple(origins),
                              extra_models=tuple(str(m.resolve()) for m in models), warm_processes=not no_preload)
        serve(library, config, show_token=show_token, announce=click.echo)
    except (BridgeStartError, TokenError, OSError, ValueError) as exc:
        raise InputFailure(one_line(exc)) from exc
    except KeyboardInterrupt:
        pass


def _check_models(models: tuple[Path, ...]) -> None:
    """Each --model must be a seedgen checkpoint: found at start-up, not when a job first uses it."""
    from seedgen.checkpoint import CheckpointError, read_checkpoint

    for model in models:
        if model.suffix.lower() != ".safetensors":
            raise UsageFailure(f"--model {model}: not a seedgen checkpoint (.safetensors)")
        try:
            read_checkpoint(model, verify=False)
        except CheckpointError as error:
            raise UsageFailure(f"--model {one_line(error)}") from None
