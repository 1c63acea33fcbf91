"""The TFLM runtime end to end on emulated boards: real TFLM sources, the shared static library, QEMU.

Needs a TFLM checkout (TINYFLASH_TFLM_DIR, or the workspace 'tinyflash deps' makes). The library is
built once per (toolchain, core flags, kernels) in the user's object cache (TINYFLASH_CACHE_DIR or the
default), as tinyflash itself does: the first run on a machine compiles TFLM (minutes), later runs and
other boards with the same core reuse it. The full model x kernels x board matrix is -m slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyflash.deps.errors import DepsError
from tinyflash.deps.sources import TFLM_DIR_ENV, TflmSources, find_tflm_sources

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def tflm_sources() -> TflmSources:
    try:
        return find_tflm_sources()
    except DepsError as exc:
        pytest.skip(f"TFLM sources not found ({exc.message}): run 'tinyflash deps' (offline: 'tinyflash deps "
                    f"--mirror DIR'), or set {TFLM_DIR_ENV} to an existing checkout")


def _bench(board_name: str, model: str, kernels: str, model_dir: Path, out: Path, profile: bool = False):
    from tinyflash import pipeline
    from tinyflash.board import BoardCatalog
    from tinyflash.generate.project import BuildOptions
    from tinyflash.model import resolve_model

    board = BoardCatalog().load(board_name)
    spec = resolve_model(model, [model_dir])
    firmware = pipeline.build(board, spec, runtime="tflm", out_dir=out,
                              options=BuildOptions(kernels=kernels, profile=profile))
    return firmware, pipeline.run(firmware, verify_count=2)


@pytest.mark.parametrize("kernels", ["reference", "cmsis-nn"])
def test_ad_verifies_on_mps2_an500(kernels: str, tflm_sources: TflmSources, model_dir: Path, qemu: None,
                                   tmp_path: Path) -> None:
    if kernels == "cmsis-nn" and not tflm_sources.has_cmsis_nn:
        pytest.skip("CMSIS_6/CMSIS-NN missing from the TFLM checkout: run 'tinyflash deps'")
    firmware, result = _bench("mps2-an500", "ad", kernels, model_dir, tmp_path / "ad")
    assert result.verification.passed, result.verification
    assert result.device_info["runtime"] == f"tflm-{kernels}"
    assert firmware.project.runtime == "tflm"
    assert firmware.size.flash_bytes > firmware.project.weight_bytes
    # the arena is measured: tflm_build.md saw 2,260 B (reference) / 2,580 B (CMSIS-NN) used on target
    assert 2_600 < firmware.project.activation_bytes < 8_000
    # the host measurement plus margin covers what TFLM planned on the 32-bit target
    used = result.device_info["arena-used-bytes"]
    assert isinstance(used, int) and 0 < used <= firmware.project.activation_bytes
    assert result.performance.instructions and result.performance.instructions > 264_192


def test_profile_times_every_tflm_operator(tflm_sources: TflmSources, model_dir: Path, qemu: None,
                                          tmp_path: Path) -> None:
    """TFLM's own per-operator profiler events, read through the glue's MicroProfilerInterface."""
    firmware, result = _bench("mps2-an500", "kws", "reference", model_dir, tmp_path / "kws", profile=True)
    assert result.verification.passed
    profile = result.profile
    assert profile is not None
    # TFLM runs every operator, RESHAPE included (the aot runtime aliases it away)
    assert [t.layer.op for t in profile.layers][-3:] == ["RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    assert len(profile.layers) == 13
    assert sum(t.layer.macs for t in profile.layers) == firmware.project.macs == 2_656_768
    assert all(t.instructions and t.instructions > 0 for t in profile.layers)
    # Invoke's own bookkeeping is what falls outside the operators: small against 44 M instructions
    assert profile.total_instructions is not None
    outside = profile.total_instructions - sum(t.instructions or 0 for t in profile.layers)
    assert 0 <= outside < profile.total_instructions // 100


def test_second_board_and_model_with_the_same_core_compile_no_tflm_object(
        tflm_sources: TflmSources, model_dir: Path, toolchain: None, tmp_path: Path) -> None:
    from tinyflash.board import BoardCatalog
    from tinyflash.build.scons import build_firmware
    from tinyflash.generate.project import generate_project
    from tinyflash.model import read_graph, resolve_model

    catalog = BoardCatalog()
    lines: list[list[str]] = []
    for board, model in (("mps2-an500", "ad"), ("nucleo-f767zi", "kws")):   # both Cortex-M7 with DP FPU
        spec = resolve_model(model, [model_dir])
        project = generate_project(catalog.load(board), spec, read_graph(spec.path), tmp_path / board,
                                   runtime="tflm")
        output: list[str] = []
        build_firmware(project, on_line=output.append)
        lines.append(output)
    announced = [[line.split()[3] for line in out if line.startswith("tinyflash: TFLM library ")] for out in lines]
    assert announced[0] == announced[1] and len(announced[0]) == 1
    library = Path(announced[0][0])
    stamp = library.stat().st_mtime_ns
    second = lines[1]
    # library objects are compiled to obj/ under the library's directory (the glue to build/obj/)
    assert not [line for line in second if " -c " in line and " -o obj/" in line], \
        "the second board recompiled TFLM objects"
    assert any(f"`{library.name}' is up to date" in line for line in second)
    assert library.stat().st_mtime_ns == stamp


@pytest.mark.slow
@pytest.mark.parametrize("board", ["mps2-an500", "mps2-an386"])
@pytest.mark.parametrize("kernels", ["reference", "cmsis-nn"])
@pytest.mark.parametrize("model", ["kws", "vww", "ic", "ad"])
def test_matrix_verifies(board: str, kernels: str, model: str, tflm_sources: TflmSources, model_dir: Path,
                         qemu: None, tmp_path: Path) -> None:
    if kernels == "cmsis-nn" and not tflm_sources.has_cmsis_nn:
        pytest.skip("CMSIS_6/CMSIS-NN missing from the TFLM checkout: run 'tinyflash deps'")
    _, result = _bench(board, model, kernels, model_dir, tmp_path / model)
    assert result.verification.passed, result.verification
    assert result.verification.max_abs_diff == 0
