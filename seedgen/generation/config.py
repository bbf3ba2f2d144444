"""Every option of `seedgen generate`, declared once: GenerateConfig, its OptionSpecs and the output size.

Light on purpose (no torch, no OpenCV): the CLI's --help, the bridge's request model and the panel's limits
(`GET /api/options`) are made from this module without loading the generator.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from seedgen.device import DEVICES
from vectorize.config import COLOURS_RANGE, SOFT_EDGES
from vectorize.page import PageSize, PageSizeError, parse_page_size

FORMATS = ("svg", "pdf", "png")
GUIDE_METHODS = ("quick", "optimize")  # seedgen.texture.guide.METHODS, spelled here so that --help loads no torch
POOL_MIN_SEEDS = 8  # auto workers: smaller runs trace in this process (a worker's start-up costs ~1 s of CPU)
MAX_WORKERS = 8
PREVIEW_MAX_PX = 2048  # PNG previews of millimetre-sized seeds are rendered at 300 dpi up to this size


class GenerateError(ValueError):
    """Generation cannot start or finish; the message is one line, fit to show a user.

    `usage` is True when the options themselves are wrong (the CLI exits 2), False when an input file, the
    model or the output folder is (exit 1).
    """

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage

    @property
    def exit_code(self) -> int:
        return 2 if self.usage else 1


@dataclass(frozen=True)
class OptionSpec:
    """One option of GenerateConfig as the CLI, the bridge and the panel show it: default, range or choices, help."""

    name: str
    default: object
    help: str  # one line; "{range}" marks where the range is written (else it follows in brackets)
    range: tuple[int, int] | tuple[float, float] | None = None  # inclusive bounds of a number
    choices: tuple[str, ...] = ()  # a text option takes one of them; a tuple option takes one or more
    choice_help: dict[str, str] = field(default_factory=dict)  # what each choice makes, for the CLI's flags
    flag: str | None = None  # the CLI's option name; None: set by the bridge or by code only

    @property
    def label(self) -> str:
        """How error messages name the option (the bridge drops the dashes)."""
        return self.flag or self.name

    def range_text(self) -> str:
        return f"{_bound(self.range[0])}..{_bound(self.range[1])}" if self.range else ""

    def describe(self) -> str:
        """The help line with the range written in."""
        if not self.range:
            return self.help
        text = self.help if "{range}" in self.help else self.help + " ({range})"
        return text.replace("{range}", self.range_text())

    def problem(self, value: object) -> str | None:
        """Why `value` is refused for this option (one line), or None; None itself is "not given"."""
        if value is None:
            return None
        if self.range:
            try:
                inside = not isinstance(value, bool) and self.range[0] <= value <= self.range[1]
            except TypeError:
                inside = False
            return None if inside else f"{self.label} must be {self.range_text()}, not {value}"
        if self.choices and isinstance(self.default, tuple):
            wrong = [str(v) for v in value if v not in self.choices]
            if wrong or not value:
                given = ", ".join(map(str, value)) or "none"
                return f"{self.label} must be among {', '.join(self.choices)} (got {given})"
        elif self.choices and value not in self.choices:
            return f"{self.label} must be one of {', '.join(self.choices)}"
        return None


def _bound(value: float) -> str:
    """A range bound as people write it: 0.5, 10000, 2**63-1."""
    if isinstance(value, float):
        return f"{value:g}"
    if value > 2**32 and value & (value + 1) == 0:
        return f"2**{value.bit_length()}-1"
    return str(value)


def _option(default: object, help: str, *, range: tuple | None = None, choices: tuple[str, ...] = (),
            choice_help: dict[str, str] | None = None, cli: bool = True):
    """A GenerateConfig field with its help, range or choices (GenerateConfig.options() reads them back)."""
    return field(default=default, metadata={"help": help, "range": range, "choices": tuple(choices),
                                            "choice_help": choice_help or {}, "cli": cli})


@dataclass
class GenerateConfig:
    """Every option of `seedgen generate`, once: default, range or choices, and help.

    The CLI's options (seedgen.commands.generate), the bridge's request model and the panel's limits
    (plugin_bridge.api_schema) are made from these fields; `validate()` checks the same ranges.
    """

    n: int = _option(50, "How many seeds to write ({range})", range=(1, 10000))
    model: str | None = _option(None, "Checkpoint (.safetensors), training run folder (its newest snapshot) or "
                                      "packaged model name; default: the packaged model")
    formats: tuple[str, ...] = _option(("svg",), "Files to write for each seed", choices=FORMATS, cli=False,
                                       choice_help={"svg": "SVG seeds", "pdf": "print PDF seeds",
                                                    "png": "PNG previews"})
    # a number is pixels (CSS px, 96 dpi)
    size: str = _option("1024", "Pixels (1024) or a physical size (210mm, 210x297mm, 8in, A4)")
    truncation: float = _option(0.7, "{range}: lower is safer and closer to the average seed, 1 is the model's full "
                                "variety", range=(0.0, 2.0))  # StyleGAN2's psi
    # None draws one at random (and records it)
    seed: int | None = _option(None, "Run seed ({range}); the same seed gives the same seeds. Default: random",
                               range=(0, 2**63 - 1))
    palette: str | None = _option(None, "Brand palette: HEX, cmyk(...), Name=#hex spot colours, or a palette file")
    colors: int | None = _option(None, "Colours per seed when tracing ({range}); default: chosen per seed",
                                 range=COLOURS_RANGE)
    cmyk: bool = _option(False, "Write PDF colours as DeviceCMYK (spot inks are Separations either way)")
    like: str | None = _option(None, "Make variations near this seed (SVG, PDF or image)")
    mix: tuple[str, str] | None = _option(None, "Mix the styles of two seeds (--mix A.svg B.svg)")
    # 150: the projection loss has flattened by then
    project_steps: int = _option(150, "Optimizer steps fitting a --like/--mix seed into a learned model ({range}; "
                                 "more: closer, slower; patchnn models draw from the seeds themselves)",
                                 range=(1, 5000))
    tile: bool = _option(False, "Texture models: a tile that repeats without a seam (right edge into left, bottom "
                                "into top), in the pixels and in the vectors")
    morph: int = _option(1, "Texture models: textures per seed ({range}); 2-4 morph smoothly across the page "
                            "(with --mix: between the textures of the two seeds)", range=(1, 4))
    guide: str | None = _option(None, "Texture models: an image (PNG, JPEG, SVG or PDF) whose layout the seed's "
                                      "textures echo, a GANosaic mosaic")
    guide_strength: float = _option(0.6, "How closely a seed follows --guide ({range}: 0 its own texture, 1 the "
                                         "guide's layout)", range=(0.0, 1.0))
    guide_method: str = _option("quick", "quick: paint the textures from the guide in one pass; optimize: also fit "
                                         "the noise to it (slower, closer; up to 2048 px)", choices=GUIDE_METHODS)
    soft: str = _option("hard", "Layered models: mask edges as hard contours, one opacity per layer, or opacity bands",
                        choices=SOFT_EDGES)
    # 0: at most MAX_WORKERS, and 1 (this process) for smaller runs: a worker's start-up costs a few s of CPU
    workers: int = _option(0, "Processes drawing and tracing seeds in parallel, this one included ({range}); 0: one "
                           f"per idle CPU core for runs of {POOL_MIN_SEEDS} seeds or more", range=(0, 64))
    device: str = _option("auto", "auto: a CUDA GPU when there is one (samples are batched on it)", choices=DEVICES)
    overwrite: bool = _option(False, "Replace existing files of the same names")
    quiet: bool = _option(False, "No progress bar")
    batch: int = _option(16, "Samples rendered per forward pass ({range}; larger on a GPU)", range=(1, 1024), cli=False)
    max_tries: int = _option(5, "Give up after n * max_tries candidates when too many are near-duplicates",
                             range=(1, 100), cli=False)
    contact_sheet: bool = _option(True, "Write an HTML contact sheet of the run", cli=False)

    @classmethod
    def options(cls) -> dict[str, OptionSpec]:
        """Every option, in declaration order, as the CLI, the bridge and the panel show it."""
        specs = {}
        for f in cls.__dataclass_fields__.values():
            meta = dict(f.metadata)
            flag = "--" + f.name.replace("_", "-") if meta.pop("cli") else None
            specs[f.name] = OptionSpec(f.name, f.default, flag=flag, **meta)
        return specs

    def validate(self) -> "GenerateConfig":
        """Check every option against its declared range or choices; raises GenerateError (usage) naming the first."""
        def bad(message: str) -> GenerateError:
            return GenerateError(message, usage=True)

        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n <= 0:
            raise bad(f"--n must be a positive number of seeds, not {self.n}")
        for spec in self.options().values():
            problem = spec.problem(getattr(self, spec.name))
            if problem:
                raise bad(problem)
        if self.like and self.mix:
            raise bad("use --like or --mix, not both")
        if self.mix is not None and len(self.mix) != 2:
            raise bad("--mix takes exactly two seed files")
        if self.guide and (self.like or self.mix):
            raise bad("use --guide or --like/--mix, not both")
        if self.morph > 2 and self.mix:
            raise bad("--mix gives two textures: use --morph 2 with it")
        return self


@dataclass(frozen=True)
class OutputSize:
    page: PageSize
    preview_px: int


def parse_output_size(text: str) -> OutputSize:
    """`1024` (pixels) or a physical size understood by vectorize.page (210mm, A4, 8x8in...)."""
    text = str(text).strip()
    try:
        if text.isdigit():
            px = int(text)
            if not 16 <= px <= 16384:
                raise GenerateError(f"--size {px} px is outside 16..16384", usage=True)
            return OutputSize(parse_page_size(f"{px}px"), px)
        page = parse_page_size(text)
    except PageSizeError as error:
        raise GenerateError(f"--size: {error}", usage=True) from None
    px = int(round(max(page.width_pt, page.height_pt) / 72.0 * 300))
    return OutputSize(page, max(16, min(PREVIEW_MAX_PX, px)))
