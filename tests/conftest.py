"""Shared test settings."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and the test machine's cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# The hostile-SVG corpus (real files from librsvg, resvg, W3C and XML bombs) is not part of this repository.
CORPUS_HELP = "set SEEDGEN_CORPUS to a checkout of the shared corpus (../shared/corpus beside the repo)"
CORPUS_BESIDE_REPO = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def corpus_place() -> tuple[Path, bool]:
    """Where the corpus should be, and whether it is there: SEEDGEN_CORPUS when set (no fallback), else
    ../shared/corpus beside the repository."""
    given = os.environ.get("SEEDGEN_CORPUS", "").strip()
    place = Path(given).expanduser() if given else CORPUS_BESIDE_REPO
    return place, place.is_dir()


def _corpus_line() -> str:
    place, found = corpus_place()
    return f"corpus: {place}" if found else f"corpus not found at {place}: {CORPUS_HELP}"


def pytest_report_header(config: pytest.Config) -> str:
    return _corpus_line()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Say why the corpus tests were skipped even under -q (which hides skip reasons)."""
    if terminalreporter.stats.get("skipped") and not corpus_place()[1]:
        terminalreporter.write_line(_corpus_line())


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus folder. Missing, its tests are skipped with the reason, or fail in CI (CI=true)."""
    place, found = corpus_place()
    if not found:
        reason = _corpus_line()
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return place


@pytest.fixture(scope="session")
def billion_laughs_pattern(corpus: Path) -> Path:
    """An 8.7 KB SVG whose pattern recursion makes CairoSVG run forever (the rasterizer must time it out)."""
    return corpus / "librsvg" / "errors" / "bug515-pattern-billion-laughs.svg"
