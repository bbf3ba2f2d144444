"""The `seedgen` command: a thin click group whose subcommands load lazily.

Each subcommand lives in `seedgen/commands/<verb>.py` as a click command named `command`. Loading them
on demand keeps `seedgen --help` fast (no torch import) and lets each stage own its own options.
Exit codes: 0 success, 1 some inputs failed, 2 usage error.
"""
from __future__ import annotations

import importlib
import importlib.util

import click

from seedgen import __version__

# verb -> (module under seedgen.commands, one-line help shown by `seedgen --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "augment": ("augment", "Multiply vector seeds: recolour, rotate, zoom and crop, full-bleed."),
    "dataset": ("dataset", "Rasterize seeds into a square RGB PNG training set."),
    "synth": ("synth", "Draw procedural mosaic-style seeds (the sample library and non-ML baseline)."),
    "train": ("train", "Train StyleGAN2-ADA, DCGAN or the layered generator on a dataset."),
    "import-pkl": ("import_pkl", "Convert an official stylegan2-ada-pytorch pickle into a seedgen checkpoint."),
    "generate": ("generate", "Generate new vector seeds from a model."),
    "vectorize": ("vectorize", "Turn raster images into layered SVG and print PDF seeds."),
    "eval": ("evaluate", "Measure seed quality: style, novelty, diversity, Mosaic suitability."),
    "serve": ("serve", "Run the local bridge server for the InDesign panel."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in COMMANDS.items() if _module_exists(module)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, short_help = COMMANDS[name]
        if not _module_exists(module_name):
            return None
        module = importlib.import_module(f"seedgen.commands.{module_name}")
        command = module.command
        command.short_help = command.short_help or short_help
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Show one-line help without importing every subcommand (and torch with it).
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(module_name: str) -> bool:
    return importlib.util.find_spec(f"seedgen.commands.{module_name}") is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seedgen")
def main() -> None:
    """Machine-learned vector seeds for HP Mosaic.

    \b
    Pipeline:  seeds/*.svg|pdf -> augment -> dataset -> train -> generate -> vectorize -> InDesign panel
    Example:   seedgen augment samples/ --variants 10 -o out/variants
    """



if __name__ == "__main__":
    main()
