"""`seedgen generate`: the main job — new, unique vector seeds from the packaged default model or your own.

The options are made from `seedgen.generation.config.GenerateConfig`, where each is declared once with its default,
range or choices and help; only what is the CLI's own (the output folder, --json, -n, how --mix and the
format flags are typed) is written here.
"""
from __future__ import annotations

import json

import click

from seedgen.generation.config import GenerateConfig, OptionSpec

EXAMPLE = "seedgen generate --n 50 --svg -o seeds/"
SHORT_FLAGS = {"n": "-n"}


def _two_seed_files(ctx: click.Context, param: click.Parameter, value: tuple[str, str] | None):
    """--mix A B: an option where B should be (--mix A -o out) means the second file is missing."""
    if value and any(v.startswith("-") for v in value):
        raise click.BadParameter("takes two seed files: --mix A.svg B.svg")
    return value


CLICK_TYPES = {  # how the CLI reads the options that are not plain numbers, words or flags
    "like": {"type": click.Path()},
    "guide": {"type": click.Path()},
    "mix": {"nargs": 2, "type": click.Path(), "callback": _two_seed_files},
}


def config_option(spec: OptionSpec) -> click.Option:
    """The click option for one GenerateConfig option: its flag, default, choices and help, from the declaration."""
    decls = [*filter(None, [SHORT_FLAGS.get(spec.name)]), spec.flag, spec.name]
    kwargs: dict = {"default": spec.default, "help": spec.describe() + "."}
    if isinstance(spec.default, bool):
        kwargs["is_flag"] = True
    elif spec.choices:
        kwargs.update(type=click.Choice(spec.choices), show_default=True)
    else:
        kwargs["show_default"] = spec.default is not None
        if spec.range:  # the range is checked by GenerateConfig.validate, whose message names the option
            kwargs["type"] = type(spec.range[0])
    kwargs.update(CLICK_TYPES.get(spec.name, {}))
    return click.Option(decls, **kwargs)


def format_flags(spec: OptionSpec) -> list[click.Option]:
    """--svg, --pdf, --png: one flag per format; none given means the declared default."""
    flags = []
    for fmt in spec.choices:
        default = " (the default when no format flag is given)" if fmt in spec.default else ""
        flags.append(click.Option([f"--{fmt}", fmt], is_flag=True, help=f"Write {spec.choice_help[fmt]}{default}."))
    return flags


def _params() -> list[click.Parameter]:
    params: list[click.Parameter] = []
    for spec in GenerateConfig.options().values():
        if spec.name == "formats":
            params += format_flags(spec)
        elif spec.flag:
            params.append(config_option(spec))
    params.insert(1, click.Option(["-o", "--out", "out"], type=click.Path(file_okay=False), default="seeds",
                                  show_default=True, help="Library folder for the seeds (also holds the uniqueness "
                                                          "index)."))  # after -n, where --help has always shown it
    params.append(click.Option(["--json", "as_json"], is_flag=True,
                               help="Print the result (seeds, files, timings per stage) as JSON."))
    return params


@click.command(
    "generate",
    params=_params(),
    help=f"""Generate new vector seeds from a model, unique against its training set and the library folder.

\b
Example:  {EXAMPLE}
          seedgen generate --n 12 --pdf --png --palette "#0A3D62,#F8C291,PANTONE 286 C=cmyk(100,75,0,2)" -o brand/
          seedgen generate --n 8 --like my-seed.svg --svg -o variations/
""",
)
def command(out: str, as_json: bool, **options) -> None:
    from seedgen.generation.generate import generate_seeds, result_summary, to_json

    spec = GenerateConfig.options()["formats"]
    formats = tuple(fmt for fmt in spec.choices if options.pop(fmt)) or spec.default
    mix = options.pop("mix")
    config = GenerateConfig(formats=formats, mix=tuple(mix) if mix else None, **options)
    result = generate_seeds(out, config)
    click.echo(json.dumps(to_json(result), indent=2) if as_json else result_summary(result))
