"""What a depth multiplier costs on the SIMD paths (#13): DEPTHWISE_CONV_2D with multiplier m > 1 against the
multiplier-1 layer of the same shape (H, W, kernel, stride, and as many output channels), in instructions per
MAC of the layer (`tinyflash bench --profile`; exact under QEMU -icount), on the Cortex-M7 (SMLAD, tf_fast.h)
and the Cortex-M55 (Helium, tf_mve_depthwise.h). Before the multiplier paths such layers ran portable C at
about 21 instructions per MAC on the M7. Run with -m slow -s to see the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..support.synthetic_layers import conv_graph, rng_for
from ..support.tflite_writer import write_tflite

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

MAX_RATIO = 2.0
# (multiplied: in (h, w, c), multiplier-1 twin: in (h, w, c), output channels, stride)
PAIRS = [((16, 16, 1), (16, 16, 8), 8, 1),
         ((17, 17, 2), (17, 17, 8), 8, 2),
         ((16, 16, 4), (16, 16, 16), 16, 1),
         ((16, 16, 3), (16, 16, 6), 6, 1)]
PATHS = {"mps2-an500": "tf_fast_depthwise", "mps3-an547": "tf_mve_depthwise_s8"}
REPO = Path(__file__).resolve().parents[2]     # the tinyflash under test, whatever the subprocess's cwd


def _per_mac(board: str, hwc: tuple[int, int, int], out_c: int, stride: int, tmp_path: Path,
             scons_cache: Path) -> float:
    name = f"dw-{hwc[2]}to{out_c}-s{stride}"
    graph = conv_graph((name, True, hwc, out_c, (3, 3), stride, 1, "SAME"), "RELU", rng_for(name, "RELU"))
    model = write_tflite(graph, tmp_path / f"{name}.tflite")
    run_dir = tmp_path / f"{board}-{name}"
    run_dir.mkdir()
    proc = subprocess.run([sys.executable, "-m", "tinyflash", "bench", "--board", board, "--model", str(model),
                           "--profile", "--json"], capture_output=True, text=True, cwd=run_dir, timeout=600,
                          env=dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache),
                                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["verification"]["passed"] is True
    model_c = (run_dir / data["build"]["elf"]).parent.parent / "src" / "runtime" / "model.c"
    assert PATHS[board] in model_c.read_text(), f"{name} did not take the {board} SIMD path"
    (layer,) = data["profile"]["layers"]
    return float(layer["per_mac"])


@pytest.mark.parametrize("board", ["mps2-an500", "mps3-an547"])
@pytest.mark.parametrize(("multiplied", "twin", "out_c", "stride"), PAIRS)
def test_a_depth_multiplier_costs_at_most_twice_the_multiplier_1_path(
        board: str, multiplied: tuple[int, int, int], twin: tuple[int, int, int], out_c: int, stride: int,
        qemu: None, tmp_path: Path, scons_cache: Path) -> None:
    with_m = _per_mac(board, multiplied, out_c, stride, tmp_path, scons_cache)
    without = _per_mac(board, twin, out_c, stride, tmp_path, scons_cache)
    print(f"\n{board}: 3x3 s{stride} -> {out_c} channels: multiplier {out_c // multiplied[2]} "
          f"{with_m:.3f}, multiplier 1 {without:.3f} instructions per MAC (x{with_m / without:.2f})")
    assert with_m <= MAX_RATIO * without
