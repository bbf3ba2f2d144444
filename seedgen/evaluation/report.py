"""The evaluation report: `report.html` (figures, one plot per metric, nearest-neighbour pairs) and `metrics.json`.

The HTML is one self-contained file (plots and thumbnails embedded as PNG data URLs), so it can be mailed or
archived beside a checkpoint. Plots use matplotlib's Agg canvas directly (no global backend switch).
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from augment.output import write_atomic, write_json_atomic
from seedgen.evaluation.suitability import SuitabilityConfig, dominant_colours

GENERATED_COLOUR = "#d9480f"
REFERENCE_COLOUR = "#1c7ed6"
THUMB_PX = 128


class SeedImages(Protocol):
    """What the report needs of a set of seeds (seedgen.evaluation.evaluate.SeedSet has it)."""

    name: str
    images: np.ndarray
    labels: list[str]


def _png_data_url(rgb: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure_data_url(fig: Figure) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plot_tag(fig: Figure, alt: str) -> str:
    return f'<img class="plot" src="{_figure_data_url(fig)}" alt="{alt}">'


def _thumb(rgb: np.ndarray) -> np.ndarray:
    return cv2.resize(rgb, (THUMB_PX, THUMB_PX), interpolation=cv2.INTER_AREA)


def plot_swd(style: dict) -> Figure:
    """SWD of generated vs reference at each pyramid level."""
    levels = style["swd"]["levels_x1e3"]
    names = sorted(levels, key=int, reverse=True)  # finest first
    x = np.arange(len(names))
    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot()
    ax.bar(x, [levels[n] for n in names], 0.6, color=GENERATED_COLOUR)
    ax.set_xticks(x, [f"{n} px" for n in names])
    ax.set_ylabel("SWD x 1e3 (lower: closer style)")
    ax.set_title("Style: sliced Wasserstein distance per scale")
    fig.tight_layout()
    return fig


def set_palette(seeds: SeedImages, seed: int, limit: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The dominant colours of a whole set (sRGB 0..1, share), from thumbnails of up to `limit` seeds."""
    thumbs = [cv2.resize(im, (64, 64), interpolation=cv2.INTER_AREA) for im in seeds.images[:limit]]
    montage = np.concatenate(thumbs, axis=0)
    config = SuitabilityConfig(colour_clusters=24, colour_min_share=0.0)
    lab, shares = dominant_colours(montage, np.random.default_rng(seed), config)
    rgb = cv2.cvtColor(lab.astype(np.float32)[None], cv2.COLOR_Lab2RGB)[0]
    return np.clip(rgb, 0, 1), shares


def plot_palettes(generated: SeedImages, reference: SeedImages, distance: float, seed: int) -> Figure:
    """Each set's dominant colours as a strip whose widths are their shares."""
    fig = Figure(figsize=(6, 2.2), dpi=100)
    ax = fig.add_subplot()
    for row, (seeds, label) in enumerate(((generated, "generated"), (reference, "reference"))):
        colours, shares = set_palette(seeds, seed)
        shares = shares / shares.sum() if shares.sum() > 0 else shares
        left = 0.0
        for colour, share in zip(colours, shares):
            ax.barh(1 - row, share, left=left, color=colour, edgecolor="none", height=0.8)
            left += share
    ax.set_yticks([1, 0], ["generated", "reference"])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of pixels")
    ax.set_title(f"Palette (Lab sliced Wasserstein distance {distance:.2f})")
    fig.tight_layout()
    return fig


def plot_novelty(novelty: dict) -> Figure:
    """Histogram of each generated seed's distance to its nearest training seed, with the near-copy line."""
    gen = [row["distance"] for row in novelty["per_seed"]]
    ref = novelty.get("reference_nearest", [])
    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot()
    top = max([*gen, *ref, novelty["threshold"] * 2])
    bins = np.linspace(0, top, 30)
    ax.hist(gen, bins=bins, color=GENERATED_COLOUR, alpha=0.7, label="generated")
    if ref:
        ax.hist(ref, bins=bins, color=REFERENCE_COLOUR, alpha=0.5, label="held-back reference")
    ax.axvline(novelty["threshold"], color="black", linestyle="--", label="near-copy threshold")
    ax.set_xlabel("perceptual distance to the nearest training seed")
    ax.set_ylabel("seeds")
    ax.set_title(f"Novelty: {100 * novelty['near_copy_share']:.1f} % near-copies")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_diversity(diversity: dict, threshold: float) -> Figure:
    """Mean pairwise distance and share of near-duplicate pairs, generated vs reference."""
    fig = Figure(figsize=(6, 3.0), dpi=100)
    left, right = fig.subplots(1, 2)
    names = ["generated", "reference"]
    colours = [GENERATED_COLOUR, REFERENCE_COLOUR]
    left.bar(names, [diversity[n]["mean_pairwise"] or 0.0 for n in names], color=colours)
    left.set_title("mean pairwise distance", fontsize=9)
    right.bar(names, [100 * (diversity[n]["duplicate_pair_share"] or 0.0) for n in names], color=colours)
    right.set_title(f"% pairs closer than {threshold:g}", fontsize=9)
    fig.suptitle("Diversity (higher distance, fewer duplicates: better)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_suitability(suitability: dict) -> Figure:
    """Per-seed histograms of the four Mosaic measures, the reference set's mean as a line."""
    rows = suitability["generated"]["per_seed"]
    ref_mean = suitability["reference"]["mean"]
    fig = Figure(figsize=(8, 4.6), dpi=100)
    axes = fig.subplots(2, 2).ravel()
    titles = {
        "variation_spread": "variation spread (Mosaic windows)",
        "coverage": "coverage (not flat)",
        "colour_count": "colours >= 1 % of canvas",
        "edge_density": "edge density",
    }
    for ax, (key, title) in zip(axes, titles.items()):
        ax.hist([r[key] for r in rows], bins=20, color=GENERATED_COLOUR, alpha=0.8)
        ax.axvline(ref_mean[key], color=REFERENCE_COLOUR, linestyle="--", label="reference mean")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
    axes[0].legend(fontsize=7)
    fig.suptitle("Mosaic suitability per generated seed", fontsize=10)
    fig.tight_layout()
    return fig


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def embedding_note(embedding: dict | None) -> str:
    """One paragraph: the near-copy share in pretrained features and how it agrees with the fingerprint's."""
    if not embedding:
        return ""
    agree = embedding["agreement"]
    return (f"<p>In pretrained features (EfficientNet-Lite0, 1 - cos of whole-seed embeddings, best of flips and "
            f"quarter turns): {100 * embedding['near_copy_share']:.1f} % near-copies below "
            f"{embedding['threshold']:g}, nearest distance median {embedding['nearest_distance']['median']:.4f}. "
            f"The fingerprint flags {agree['fingerprint']} seeds, the features {agree['embedding']}, "
            f"both {agree['both']}.</p>")


def nearest_pairs_html(novelty: dict, generated: SeedImages, train: SeedImages, count: int) -> str:
    """The `count` generated seeds closest to a training seed, each beside that training seed."""
    index_of = {label: i for i, label in enumerate(train.labels)}
    gen_index = {label: i for i, label in enumerate(generated.labels)}
    rows = sorted(novelty["per_seed"], key=lambda r: r["distance"])[:count]
    cells = []
    for row in rows:
        g = generated.images[gen_index[row["seed"]]]
        t = train.images[index_of[row["nearest"]]]
        flag = " near-copy" if row["near_copy"] else ""
        cells.append(
            f'<figure class="pair{flag}"><img src="{_png_data_url(_thumb(g))}" alt="generated">'
            f'<img src="{_png_data_url(_thumb(t))}" alt="training"><figcaption>{html.escape(row["seed"])} vs '
            f'{html.escape(row["nearest"])}<br>distance {row["distance"]:.4f}{" (near-copy)" if flag else ""}'
            "</figcaption></figure>"
        )
    return "\n".join(cells)


_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; }
img.plot { max-width: 100%; } .pairs { display: flex; flex-wrap: wrap; gap: 12px; }
figure.pair { margin: 0; padding: 6px; border: 1px solid #ccc; } figure.pair img { width: 128px; height: 128px; }
figure.near-copy { border: 2px solid #c92a2a; } figcaption { font-size: 11px; max-width: 262px; word-break: break-all; }
.warn { color: #c92a2a; }
"""


def render_html(metrics: dict, generated: SeedImages, reference: SeedImages, train: SeedImages | None) -> str:
    """The report page: headline table, warnings, a plot per metric, nearest-neighbour pairs."""
    summary = metrics["summary"]
    config = metrics["config"]
    seed = int(config["seed"])
    explain = {
        "style_swd_x1e3": "multi-scale SWD to the reference (lower: closer style)",
        "palette_distance": "Lab palette distance to the reference (lower: closer colours)",
        "near_copy_share": "share of generated seeds that nearly copy a training seed (lower: more novel)",
        "embedding_near_copy_share": "the same, judged in pretrained features (see Novelty)",
        "nearest_train_median": "median distance to the nearest training seed (higher: more novel)",
        "diversity": "mean pairwise distance between generated seeds (higher: more varied)",
        "variation_spread": "mean distance between Mosaic windows of one seed (higher: more designs)",
        "coverage": "share of the canvas outside large flat areas (higher: full-bleed)",
        "colour_count": "colours covering >= 1 % each (recolourable)",
        "edge_density": "share of pixels on an edge (detail under zoom)",
    }
    rows = "".join(f"<tr><th>{k}</th><td>{_fmt(v)}</td><td>{explain.get(k, '')}</td></tr>" for k, v in summary.items())
    counts = metrics["counts"]
    warnings = "".join(f'<p class="warn">warning: {html.escape(w)}</p>' for w in metrics.get("warnings", []))
    style = metrics["style"]
    floor = ("<p>SWD: Laplacian-pyramid 7x7 patches, 4 x 128 random directions (Karras et al. 2018). Both style "
             "figures shrink as sets grow, so compare runs with similar set sizes.</p>")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>seedgen eval</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Seed evaluation</h1>",
        f"<p>{counts['generated']} generated, {counts['reference']} reference, {counts['train']} training seeds; "
        f"{config['size']} px, seed {seed}.</p>",
        warnings,
        f"<table><tr><th>figure</th><th>value</th><th>meaning</th></tr>{rows}</table>",
        "<h2>Style</h2>", floor,
        _plot_tag(plot_swd(style), "SWD per level"),
        _plot_tag(plot_palettes(generated, reference, style["palette_distance"], seed), "palettes"),
    ]
    novelty = metrics.get("novelty")
    if novelty and train is not None:
        parts += [
            "<h2>Novelty</h2>",
            f"<p>Distance: seedgen.perceptual (RMS Lab difference / 100 of blurred thumbnails, best of flips, "
            f"quarter turns and small shifts). Near-copy below {novelty['threshold']:g}.</p>",
            _plot_tag(plot_novelty(novelty), "novelty histogram"),
            embedding_note(novelty.get("embedding")),
            "<h3>Closest generated seeds and their nearest training seed</h3>",
            f'<div class="pairs">{nearest_pairs_html(novelty, generated, train, int(config["report_pairs"]))}</div>',
        ]
    else:
        parts.append("<h2>Novelty</h2><p>Not measured: no training set given (--train).</p>")
    parts += [
        "<h2>Diversity</h2>",
        _plot_tag(plot_diversity(metrics["diversity"], config["near_copy_threshold"]), "diversity"),
        "<h2>Mosaic suitability</h2>",
        _plot_tag(plot_suitability(metrics["suitability"]), "suitability"),
        "<p>All figures are in metrics.json beside this file.</p></body></html>",
    ]
    return "\n".join(parts)


def write_report(
    out_dir: Path, metrics: dict, generated: SeedImages, reference: SeedImages, train: SeedImages | None,
    overwrite: bool = False,
) -> list[Path]:
    """Write metrics.json and report.html into `out_dir` atomically; returns their paths."""
    page = render_html(metrics, generated, reference, train)
    json_path = write_json_atomic(out_dir / "metrics.json", metrics, overwrite=overwrite)
    html_path = write_atomic(out_dir / "report.html", page, overwrite=overwrite)
    return [html_path, json_path]
