"""Every option of the vectorizer, once, with its default, its range and the reason for the default.

The CLI, the bridge, the benchmarks and the tests all build this one dataclass.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from augment.palette import Palette

METHODS = ("trace", "layers")  # how layers are found; all but "trace" are registered by the package that
#   provides them (vectorize_run.register_method)
SOFT_EDGES = ("hard", "mean", "levels")  # "layers" method: how soft mask edges are written (hard: 0.5 contour)
COLOUR_MODES = ("rgb", "cmyk")
DENOISE_MODES = ("auto", "none", "median", "bilateral")
TRACE_MODES = ("smooth", "polygon", "spline")
MAX_SIDE_RANGE = (64, 16384)  # px: the working size an image may be traced at (VectorizeConfig.max_side)
LAYERS_RANGE = (1, 64)  # T, the most masks a layered decomposition stacks (its providers use these too)
PARAMS_RANGE = (1, 256)  # K, the code size of each mask
STEPS_RANGE = (0, 100000)  # fitting steps of a layered decomposition
COLOURS_RANGE = (2, 32)  # colours (layers) of a traced seed


@dataclass(frozen=True)
class VectorizeConfig:
    """Options for turning one raster image into colour layers (and the page they are written on)."""

    method: str = "trace"  # how layers are found; "trace": palette quantization + vtracer per layer;
    #   "layers": a learned decomposition into T coloured parametric masks (registered by its provider)
    # --- "layers" method (its provider holds the rest of its options) ----------------------------------
    layers: int = 10  # T, coloured masks stacked on a background, in LAYERS_RANGE
    params: int = 10  # K, parameters per mask, in PARAMS_RANGE
    steps: int = 400  # fitting steps, in STEPS_RANGE: time grows linearly with them
    soft_edges: str = "hard"  # "hard" (0.5 contour), "mean" (layer opacity), "levels" (opacity bands)
    # --- palette ---------------------------------------------------------------------------------------
    colors: int | None = None  # fixed number of colours, in COLOURS_RANGE; None: the fewest that miss almost no flat pixel
    max_colors: int = 12  # cap for the automatic choice, in COLOURS_RANGE: more layers rarely help a seed, and cost paths
    colour_error: float = 10.0  # auto K: a flat pixel further than this (CIE76 dE) from its colour is a miss, 2..30
    min_colour_distance: float = 8.0  # auto K: colours closer than this (dE) are one colour split by noise, 0..20
    colour_miss: float = 0.002  # auto K: stop once misses are below this share of flat pixels, 0.0005..0.02
    thin_lines: bool = True  # keep lines too thin to have a flat interior (outlines, threads): an edge pixel no
    #                          blend of its neighbouring colours explains may take another colour, found flat or not
    palette: Palette | None = None  # brand/user inks: every fill snaps exactly to one of them (no gradients)
    seed: int = 0  # k-means initialisation; the same seed gives the same bytes
    kmeans_samples: int = 8192  # flat pixels sampled for k-means, 2k..200k; 16k gave the same colours
    kmeans_restarts: int = 3  # k-means++ restarts, 1..10; the best inertia wins (robust to unlucky starts)
    kmeans_iterations: int = 25  # Lloyd iterations per restart, 5..100
    # --- clean-up ---------------------------------------------------------------------------------------
    denoise: str = "auto"  # "auto" (bilateral when noise is found), "none", "median", "bilateral"
    noise_threshold: float = 2.0  # auto denoise above this noise estimate (of 255), 0.5..10; clean renders < 1
    flat_threshold: float = 2.5  # dE per pixel below which a pixel is a flat interior, 0.5..10
    edge_support: int = 2  # px; an edge pixel takes a colour found flat this close (beyond the nearest), 0..8
    speckle_area: int = 24  # px at 512x512 (scaled with the canvas); smaller islands merge into neighbours
    max_side: int = 2048  # px; larger images are traced at this size (area-resampled), in MAX_SIDE_RANGE
    # --- gradients --------------------------------------------------------------------------------------
    gradients: bool = True  # find smooth gradient regions and fill them with SVG/PDF gradients (off with a palette)
    gradient_min_area: float = 0.02  # fraction of the canvas a gradient region must cover, 0.001..1
    gradient_min_spread: float = 10.0  # dE across a region before it counts as a gradient, 3..50
    gradient_max_error: float = 2.5  # mean dE of the fitted gradient, 0.5..10; worse fits are posterized
    gradient_max_stops: int = 8  # stops per gradient, 2..32
    # --- tracing (vtracer, binary mode, one union mask per layer) ---------------------------------------
    # "smooth": vtracer polygons made into curves that keep corners (vectorize.curve); "polygon": the
    # polygons as they are (smallest files, faceted curves); "spline": vtracer's own splines (round corners)
    trace_mode: str = "smooth"
    filter_speckle: int = 4  # px; vtracer drops patches smaller than this side, 0..16
    corner_threshold: int = 45  # degrees; sharper turns stay corners, 0..180 (measured best for "smooth")
    length_threshold: float = 4.0  # px; vtracer segment length, 3.5..10 (vtracer's default)
    splice_threshold: int = 45  # degrees; spline splitting angle, 0..180 (vtracer's default)
    max_iterations: int = 10  # vtracer curve-fitting iterations, 1..50 (vtracer's default)
    tuck: int = 1  # px; a layer stops this far under the layers above where they meet a lower colour, 0..3
    path_precision: int = 1  # decimals in path data, 0..4; 0.1 px is invisible and files are ~2.5x smaller
    # --- output -----------------------------------------------------------------------------------------
    size_mm: float = 210.0  # physical size of the longer canvas side when no page size is given (A4 width)
    colour_mode: str = "rgb"  # PDF colours: "rgb" or "cmyk" (spot inks are Separations in both)
    tile: bool = False  # the image repeats seamlessly (right edge into left, bottom into top): trace it as a
    #   torus, so the SVG and PDF repeat exactly too (clipped to the tile, plus a <pattern> preview);
    #   "trace" method, smooth or polygon outlines, and no gradients (a gradient across the canvas does not repeat)
    extra: dict = field(default_factory=dict)  # free-form provenance copied into the sidecar JSON

    def __post_init__(self) -> None:
        checks = [
            (self.method in METHODS, f"method must be one of {', '.join(METHODS)}"),
            (not self.tile or (self.method == "trace" and self.trace_mode != "spline"),
             "tile needs the trace method, with smooth or polygon outlines"),
            (self.colors is None or _inside(self.colors, COLOURS_RANGE), f"colors must be {_text(COLOURS_RANGE)}"),
            (_inside(self.layers, LAYERS_RANGE) and _inside(self.params, PARAMS_RANGE)
             and _inside(self.steps, STEPS_RANGE), f"layers must be {_text(LAYERS_RANGE)}, params "
             f"{_text(PARAMS_RANGE)}, steps {_text(STEPS_RANGE)}"),
            (self.soft_edges in SOFT_EDGES, f"soft_edges must be one of {', '.join(SOFT_EDGES)}"),
            (_inside(self.max_colors, COLOURS_RANGE), f"max_colors must be {_text(COLOURS_RANGE)}"),
            (self.colour_error > 0 and 0 < self.colour_miss < 1, "colour_error and colour_miss must be positive"),
            (self.min_colour_distance >= 0 and self.speckle_area >= 0 and self.tuck >= 0,
             "min_colour_distance, speckle_area and tuck cannot be negative"),
            (self.denoise in DENOISE_MODES, f"denoise must be one of {', '.join(DENOISE_MODES)}"),
            (self.trace_mode in TRACE_MODES, f"trace_mode must be one of {', '.join(TRACE_MODES)}"),
            (0 <= self.path_precision <= 4, "path_precision must be 0..4"),
            (self.colour_mode in COLOUR_MODES, f"colour_mode must be one of {', '.join(COLOUR_MODES)}"),
            (self.size_mm > 0, "size_mm must be positive"),
            (MAX_SIDE_RANGE[0] <= self.max_side <= MAX_SIDE_RANGE[1],
             f"max_side must be {MAX_SIDE_RANGE[0]}..{MAX_SIDE_RANGE[1]}"),
            (self.kmeans_restarts >= 1 and self.kmeans_iterations >= 1, "k-means needs restarts and iterations"),
            (self.gradient_max_stops >= 2, "gradient_max_stops must be at least 2"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def use_gradients(self) -> bool:
        """Gradients are fitted only without a palette (brand inks are flat by definition) and not for a tile."""
        return self.gradients and self.palette is None and not self.tile

    def to_json(self) -> dict:
        """A JSON-ready record of the options (for the sidecar beside each seed)."""
        out = asdict(self)
        out["palette"] = self.palette.to_json() if self.palette is not None else None
        return out


def _inside(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _text(bounds: tuple[float, float]) -> str:
    return f"{bounds[0]}..{bounds[1]}"
