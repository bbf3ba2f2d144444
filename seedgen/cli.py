"""The `seedgen` command: a thin click group whose subcommands load lazily.

Each subcommand lives in `seedgen/commands/<verb>.py` as a click command named `command`; `serve` lives in
the package it runs (`plugin_bridge/command.py`), named here as text so that nothing below the bridge imports
it. Loading them on demand keeps `seedgen --help` fast (no torch import) and lets each stage own its options.
The group applies the one failure rule of `seedgen.failure` to every subcommand: a user's mistake is one line
`seedgen VERB: WHAT: WHY`; exit codes 0 success, 1 some inputs failed (or an output exists), 2 usage error.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass

import click

from seedgen import __version__


@dataclass(frozen=True)
class Verb:
    module: str  # under seedgen.commands, or a whole dotted module path
    help: str  # one line, shown by `seedgen --help`
    output: str | None = None  # the parameter naming the output folder: checked before work, removed if left empty
    output_is_file: bool = False  # the output parameter names a file (its folder is checked)


COMMANDS: dict[str, Verb] = {
    "augment": Verb("augment", "Multiply vector seeds: recolour, rotate, zoom and crop, full-bleed.", "out_dir"),
    "dataset": Verb("dataset", "Rasterize seeds into a square RGB PNG training set.", "out_dir"),
    "synth": Verb("synth", "Draw procedural mosaic-style seeds (the sample library and non-ML baseline).", "out_dir"),
    "train": Verb("train", "Train StyleGAN2-ADA, DCGAN or the layered generator on a dataset.", "run_dir"),
    "import-pkl": Verb("import_pkl", "Convert an official stylegan2-ada-pytorch pickle into a seedgen checkpoint.",
                       "target", output_is_file=True),
    "generate": Verb("generate", "Generate new vector seeds from a model.", "out"),
    "vectorize": Verb("vectorize", "Turn raster images into layered SVG and print PDF seeds.", "output"),
    "eval": Verb("evaluate", "Measure seed quality: style, novelty, diversity, Mosaic suitability.", "out_dir"),
    "serve": Verb("plugin_bridge.command", "Run the local bridge server for the InDesign panel.", "library"),
}


def _enable_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        os.environ["SEEDGEN_DEBUG"] = "1"


def debug_option() -> click.Option:
    return click.Option(["--debug"], is_flag=True, expose_value=False, is_eager=True, callback=_enable_debug,
                        help="Show the full traceback of any error.")


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand runs, and owns how it fails."""

    verb: str | None = None  # the subcommand being run, for its error lines

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, verb in COMMANDS.items() if _module_exists(verb.module)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not _module_exists(COMMANDS[name].module):
            return None
        verb = COMMANDS[name]
        command = importlib.import_module(_module_path(verb.module)).command
        command.short_help = command.short_help or verb.help
        if not getattr(command, "_seedgen_guarded", False):
            command.callback = _guarded(command.callback, verb)
            command.params.append(debug_option())
            command._seedgen_guarded = True
        self.verb = name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Show one-line help without importing every subcommand (and torch with it).
        rows = [(name, COMMANDS[name].help) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's main, with every error shown by seedgen.failure's rule (one line, its exit code)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        from seedgen.failure import report

        try:
            code = super().main(args, prog_name or "seedgen", complete_var, False, **extra)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except Exception as error:  # noqa: BLE001 - report() re-raises anything that is not a user's mistake
            sys.exit(report(self.verb, error))
        sys.exit(code if isinstance(code, int) else 0)


def _guarded(callback, verb: Verb):
    """The subcommand's callback, run inside its checked output folder (seedgen.failure.output_folder)."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        from seedgen.failure import output_folder

        target = kwargs.get(verb.output) if verb.output else None
        if target is not None and verb.output_is_file:
            target = os.path.dirname(os.path.abspath(target))
        with output_folder(target):
            return callback(*args, **kwargs)

    return run


def _module_path(module: str) -> str:
    return module if "." in module else f"seedgen.commands.{module}"


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(_module_path(module)) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seedgen")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_enable_debug,
              help="Show the full traceback of any error (also: SEEDGEN_DEBUG=1).")
def main() -> None:
    """Machine-learned vector seeds for HP Mosaic.

    \b
    Pipeline:  seeds/*.svg|pdf -> augment -> dataset -> train -> generate -> vectorize -> InDesign panel
    Example:   seedgen augment samples/ --variants 10 -o out/variants
    Failures:  one line `seedgen VERB: WHAT: WHY`; exit 0 ok, 1 some inputs failed or an output exists,
               2 usage error. --debug shows the traceback.
    """


if __name__ == "__main__":
    main()
