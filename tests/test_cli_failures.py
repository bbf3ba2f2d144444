"""Every command, every class of careless input: one line `seedgen VERB: WHAT: WHY`, the README's exit code,
no traceback, nothing left behind (seedgen.failure's rule).

The table below is the whole contract: each row is a command and a mistake. A mistake that cannot happen to a
command (synth reads no input; train resumes an existing run by design) is not a row.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from seedgen.cli import main
from seed_fixtures import full_rect_seed

USAGE, INPUT = 2, 1


def _png(path: Path, side: int = 64) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(path, format="PNG")
    return path


@dataclass
class Place:
    """The folders one case runs in: `inputs` holds what the mistake needs, `out` is the output it names."""

    root: Path
    inputs: Path = field(init=False)
    out: Path = field(init=False)

    def __post_init__(self) -> None:
        self.inputs = self.root / "in"
        self.inputs.mkdir()
        self.out = self.root / "out"

    def one(self, name: str, data: bytes) -> Path:
        path = self.inputs / name
        path.write_bytes(data)
        return path

    def blocked_out(self) -> Path:
        """An output folder that cannot be made, even by root: its parent is a regular file."""
        blocker = self.root / "blocker"
        blocker.write_text("a file, not a folder")
        return blocker / "out"


# --- the mistakes ----------------------------------------------------------------------------------------

def missing(p: Place) -> Path:
    return p.root / "no-such-thing"


def empty_folder(p: Place) -> Path:
    return p.inputs


def text_as_svg(p: Place) -> Path:
    p.one("notes.svg", b"these are my notes, not a drawing\n")
    return p.inputs


def png_as_svg(p: Place) -> Path:
    _png(p.inputs / "photo.svg")
    return p.inputs


def zero_byte(p: Place, suffix: str = ".svg") -> Path:
    p.one(f"empty{suffix}", b"")
    return p.inputs


def good_seeds(p: Place) -> Path:
    p.one("good.svg", full_rect_seed())
    return p.inputs


def good_pngs(p: Place) -> Path:
    for k in range(2):
        _png(p.inputs / f"img{k}.png", 32)
    return p.inputs


@dataclass(frozen=True)
class Case:
    verb: str
    mistake: str
    args: Callable[[Place], list[str]]
    code: int
    why: str  # a piece of the one line's reason
    prepare: Callable[[Place], None] | None = None  # makes the existing output for the 'exists' rows


def _eval_args(gen: Callable[[Place], Path]) -> Callable[[Place], list[str]]:
    def args(p: Place) -> list[str]:
        reference = p.root / "ref"
        reference.mkdir(exist_ok=True)
        (reference / "r.svg").write_bytes(full_rect_seed())
        return ["eval", str(gen(p)), "--reference", str(reference), "-o", str(p.out), "--size", "64", "--quiet"]
    return args


def _existing(names: list[str]) -> Callable[[Place], None]:
    def prepare(p: Place) -> None:
        p.out.mkdir()
        for name in names:
            (p.out / name).write_text("{}")
    return prepare


CASES = [
    # synth: no inputs
    Case("synth", "--n 0", lambda p: ["synth", "-n", "0", "-o", str(p.out)], USAGE, "--count"),
    Case("synth", "existing output", lambda p: ["synth", "-n", "1", "-o", str(p.out), "--quiet"], INPUT,
         "already exists", _existing(["synth.json"])),
    Case("synth", "unwritable output", lambda p: ["synth", "-n", "1", "-o", str(p.blocked_out())], USAGE,
         "cannot write"),
    # augment
    Case("augment", "missing input", lambda p: ["augment", str(missing(p)), "-o", str(p.out)], USAGE, "no such"),
    Case("augment", "empty folder", lambda p: ["augment", str(empty_folder(p)), "-o", str(p.out)], USAGE,
         "no .svg or .pdf seeds"),
    Case("augment", "text file named .svg", lambda p: ["augment", str(text_as_svg(p)), "-o", str(p.out), "-q"],
         INPUT, "notes.svg"),
    Case("augment", "PNG named .svg", lambda p: ["augment", str(png_as_svg(p)), "-o", str(p.out), "-q"], INPUT,
         "photo.svg"),
    Case("augment", "zero-byte file", lambda p: ["augment", str(zero_byte(p)), "-o", str(p.out), "-q"], INPUT,
         "empty.svg"),
    Case("augment", "--n 0", lambda p: ["augment", str(good_seeds(p)), "-o", str(p.out), "--variants", "0"], USAGE,
         "--variants"),
    Case("augment", "bad palette", lambda p: ["augment", str(good_seeds(p)), "-o", str(p.out),
                                              "--palette", "not-a-colour"], USAGE, "--palette"),
    Case("augment", "missing palette file", lambda p: ["augment", str(good_seeds(p)), "-o", str(p.out),
                                                       "--palette", str(p.root / "brand.ase")], USAGE, "brand.ase"),
    Case("augment", "existing output", lambda p: ["augment", str(good_seeds(p)), "-o", str(p.out), "-q"], INPUT,
         "already exists", _existing(["manifest.json"])),
    Case("augment", "unwritable output", lambda p: ["augment", str(good_seeds(p)), "-o", str(p.blocked_out())],
         USAGE, "cannot write"),
    # dataset
    Case("dataset", "missing input", lambda p: ["dataset", str(missing(p)), "-o", str(p.out)], USAGE, "no such"),
    Case("dataset", "empty folder", lambda p: ["dataset", str(empty_folder(p)), "-o", str(p.out)], USAGE,
         "no seeds found"),
    Case("dataset", "text file named .svg", lambda p: ["dataset", str(text_as_svg(p)), "-o", str(p.out), "--quiet",
                                                       "--size", "16"], INPUT, "notes.svg"),
    Case("dataset", "zero-byte file", lambda p: ["dataset", str(zero_byte(p)), "-o", str(p.out), "--quiet",
                                                 "--size", "16"], INPUT, "empty.svg"),
    Case("dataset", "--n 0", lambda p: ["dataset", str(good_seeds(p)), "-o", str(p.out), "--crops", "0"], USAGE,
         "--crops"),
    Case("dataset", "bad colour", lambda p: ["dataset", str(good_seeds(p)), "-o", str(p.out),
                                             "--background", "not-a-colour"], USAGE, "background"),
    Case("dataset", "existing output", lambda p: ["dataset", str(good_seeds(p)), "-o", str(p.out), "--quiet"], INPUT,
         "already exists", _existing(["dataset.json"])),
    Case("dataset", "unwritable output", lambda p: ["dataset", str(good_seeds(p)), "-o", str(p.blocked_out())],
         USAGE, "cannot write"),
    # train
    Case("train", "missing input", lambda p: ["train", str(missing(p)), "-o", str(p.out)], USAGE, "no such"),
    Case("train", "empty folder", lambda p: ["train", str(empty_folder(p)), "-o", str(p.out), "--quiet"], USAGE,
         "no images"),
    Case("train", "text file named .svg", lambda p: ["train", str(text_as_svg(p)), "-o", str(p.out), "--quiet"],
         USAGE, "no images"),
    Case("train", "zero-byte file", lambda p: ["train", str(zero_byte(p, ".png")), "-o", str(p.out), "--quiet",
                                               "--kimg", "0.001"], INPUT, "could be read"),
    Case("train", "--n 0", lambda p: ["train", str(good_pngs(p)), "-o", str(p.out), "--kimg", "0"], USAGE, "--kimg"),
    Case("train", "unwritable output", lambda p: ["train", str(good_pngs(p)), "-o", str(p.blocked_out())], USAGE,
         "cannot write"),
    # import-pkl
    Case("import-pkl", "missing input", lambda p: ["import-pkl", str(missing(p)), "-o", str(p.out / "m")], USAGE,
         "no such"),
    Case("import-pkl", "text file", lambda p: ["import-pkl", str(p.one("net.pkl", b"not a pickle\n")),
                                               "-o", str(p.out / "m")], INPUT, "net.pkl"),
    Case("import-pkl", "zero-byte file", lambda p: ["import-pkl", str(p.one("net.pkl", b"")), "-o", str(p.out / "m")],
         INPUT, "net.pkl"),
    Case("import-pkl", "unwritable output", lambda p: ["import-pkl", str(p.one("net.pkl", b"x")),
                                                       "-o", str(p.blocked_out() / "m")], USAGE, "cannot write"),
    # generate
    Case("generate", "missing input", lambda p: ["generate", "--n", "1", "--like", str(missing(p)), "-o", str(p.out)],
         USAGE, "no such"),
    Case("generate", "missing model", lambda p: ["generate", "--n", "1", "--model", str(missing(p)),
                                                 "-o", str(p.out)], USAGE, "no-such-thing"),
    Case("generate", "a folder as --like", lambda p: ["generate", "--n", "1", "--like", str(good_seeds(p)),
                                                      "-o", str(p.out)], USAGE, "folder"),
    Case("generate", "text file named .svg", lambda p: ["generate", "--n", "1", "--like",
                                                        str(p.one("notes.svg", b"my notes\n")), "-o", str(p.out),
                                                        "--quiet"], INPUT, "notes.svg"),
    Case("generate", "zero-byte file", lambda p: ["generate", "--n", "1", "--like", str(p.one("e.svg", b"")),
                                                  "-o", str(p.out), "--quiet"], INPUT, "e.svg"),
    Case("generate", "--n 0", lambda p: ["generate", "--n", "0", "-o", str(p.out)], USAGE, "--n"),
    Case("generate", "bad palette", lambda p: ["generate", "--n", "1", "--palette", "not-a-colour", "-o", str(p.out)],
         USAGE, "--palette"),
    Case("generate", "missing palette file", lambda p: ["generate", "--n", "1", "--palette",
                                                        str(p.root / "mypalette.ase"), "-o", str(p.out)],
         USAGE, "mypalette.ase"),
    Case("generate", "--mix with one file", lambda p: ["generate", "--n", "1", "--mix",
                                                       str(p.one("a.svg", full_rect_seed())), "-o", str(p.out)],
         USAGE, "--mix"),
    Case("generate", "existing output", lambda p: ["generate", "--n", "1", "--seed", "5", "-o", str(p.out), "--quiet"],
         INPUT, "already exists", _existing(["s5-000.json"])),
    Case("generate", "unwritable output", lambda p: ["generate", "--n", "1", "-o", str(p.blocked_out())], USAGE,
         "cannot write"),
    # vectorize
    Case("vectorize", "missing input", lambda p: ["vectorize", str(missing(p)), "-o", str(p.out)], USAGE, "no such"),
    Case("vectorize", "empty folder", lambda p: ["vectorize", str(empty_folder(p)), "-o", str(p.out)], USAGE,
         "no images"),
    Case("vectorize", "text file named .png", lambda p: ["vectorize", str(p.one("scan.png", b"not an image\n")),
                                                         "-o", str(p.out), "--quiet"], INPUT, "scan.png"),
    Case("vectorize", "zero-byte file", lambda p: ["vectorize", str(p.one("scan.png", b"")), "-o", str(p.out),
                                                   "--quiet"], INPUT, "scan.png"),
    Case("vectorize", "--n 0", lambda p: ["vectorize", str(_png(p.inputs / "a.png")), "-o", str(p.out),
                                          "--colors", "0"], USAGE, "--colors"),
    Case("vectorize", "bad palette", lambda p: ["vectorize", str(_png(p.inputs / "a.png")), "-o", str(p.out),
                                                "--palette", "not-a-colour"], USAGE, "--palette"),
    Case("vectorize", "existing output", lambda p: ["vectorize", str(_png(p.inputs / "a.png")), "-o", str(p.out),
                                                    "--quiet", "--svg"], INPUT, "already exists", _existing(["a.svg"])),
    Case("vectorize", "unwritable output", lambda p: ["vectorize", str(_png(p.inputs / "a.png")),
                                                      "-o", str(p.blocked_out())], USAGE, "cannot write"),
    # eval
    Case("eval", "missing input", lambda p: ["eval", str(missing(p)), "--reference", str(p.inputs), "-o", str(p.out)],
         USAGE, "no such"),
    Case("eval", "empty folder", _eval_args(empty_folder), USAGE, "no seed files"),
    Case("eval", "text file named .svg", _eval_args(text_as_svg), INPUT, "notes.svg"),
    Case("eval", "PNG named .svg", _eval_args(png_as_svg), INPUT, "photo.svg"),
    Case("eval", "zero-byte file", _eval_args(zero_byte), INPUT, "empty.svg"),
    Case("eval", "--n 0", lambda p: _eval_args(good_seeds)(p) + ["--size", "0"], USAGE, "--size"),
    Case("eval", "existing output", _eval_args(good_seeds), INPUT, "already exists", _existing(["metrics.json"])),
    Case("eval", "unwritable output", lambda p: ["eval", str(good_seeds(p)), "--reference", str(p.inputs),
                                                 "-o", str(p.blocked_out())], USAGE, "cannot write"),
    # serve: its failures all come before it listens
    Case("serve", "unwritable library", lambda p: ["serve", "--library", str(p.blocked_out()), "--port", "0"], USAGE,
         "cannot write"),
    Case("serve", "a model that is not a checkpoint", lambda p: ["serve", "--library", str(p.out), "--port", "0",
                                                                 "--model", str(p.one("m.safetensors", b"junk"))],
         USAGE, "m.safetensors"),
    Case("serve", "missing model", lambda p: ["serve", "--library", str(p.out), "--model", str(missing(p))], USAGE,
         "no such"),
]


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.verb}: {c.mistake}" for c in CASES])
def test_every_command_fails_in_one_line(case: Case, tmp_path: Path) -> None:
    place = Place(tmp_path)
    if case.prepare is not None:
        case.prepare(place)
    args = case.args(place)
    before = _tree(tmp_path)
    result = CliRunner().invoke(main, args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == case.code, (args, result.exit_code, result.stderr, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    prefix = f"seedgen {case.verb}: "
    assert lines and all(line.startswith(prefix) for line in lines), lines
    if case.code == USAGE:
        assert len(lines) == 1, lines
    else:  # the failure line, then the batch's summary when there is one
        assert len(lines) <= 2 and not lines[-1].startswith(prefix + "0 ok, 0"), lines
    assert any(case.why in line for line in lines), (case.why, lines)
    assert _tree(tmp_path) == before, "a failed run left files behind"


def test_the_table_covers_every_command() -> None:
    from seedgen.cli import COMMANDS

    assert {c.verb for c in CASES} == set(COMMANDS)


def test_a_real_bug_keeps_its_traceback_and_debug_shows_any(tmp_path: Path) -> None:
    """--debug turns a user's mistake back into its traceback (for a bug report); SEEDGEN_DEBUG=1 too."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    args = [sys.executable, "-m", "seedgen", "augment", str(tmp_path), "-o", str(tmp_path / "o")]
    quiet = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert quiet.returncode == USAGE and "Traceback" not in quiet.stderr
    assert quiet.stderr.strip().count("\n") == 0 and quiet.stderr.startswith("seedgen augment: ")
    loud = subprocess.run(args + ["--debug"], capture_output=True, text=True, env=env, timeout=120)
    assert loud.returncode != 0 and "Traceback" in loud.stderr and "NoSeedsFound" in loud.stderr
    group = subprocess.run([args[0], "-m", "seedgen", "--debug", *args[3:]], capture_output=True, text=True,
                           env=env, timeout=120)
    assert "Traceback" in group.stderr
