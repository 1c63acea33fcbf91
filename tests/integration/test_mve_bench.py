"""The Helium (MVE) kernels (tf_mve_*.h) on the emulated Cortex-M55 (mps3-an547): every benchmark
model verified against the TFLM golden.

They do not build for the host, so this is their bit-exactness check. Besides the bundled
sample inputs each model sees a dozen random ones through the device protocol (vww fewer: each of
its 27 KB inputs takes seconds to upload over the emulated UART), since a couple of inputs can
hide a rounding difference that only shows on ties. The instructions per MAC guard that the
Helium path is the one measured (the SMLAD path takes 1.7-2.3 on this board)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.qemu

RANDOM_INPUTS = {"kws": 12, "vww": 4, "ic": 12, "ad": 12}
MAX_INSTRUCTIONS_PER_MAC = 0.6


@pytest.mark.slow
@pytest.mark.parametrize("model", ["kws", "vww", "ic", "ad"])
def test_helium_kernels_are_bit_exact(model: str, model_dir: Path, qemu: None, tmp_path: Path,
                                      scons_cache: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tinyflash", "bench", "--board", "mps3-an547", "--model", model,
                           "--model-dir", str(model_dir), "--json", "--verify-count", str(RANDOM_INPUTS[model])],
                          capture_output=True, text=True, cwd=tmp_path, timeout=900,
                          env=dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    verification = data["verification"]
    assert verification["passed"] is True
    # ad's float input is quantised on both sides; one step is the project's tolerance for it
    assert verification["max_abs_diff"] <= (1 if model == "ad" else 0)
    labels = [s["input"] for s in verification["samples"]]
    assert sum(label.startswith("generated") for label in labels) == RANDOM_INPUTS[model]
    model_c = (tmp_path / data["build"]["elf"]).parent.parent / "src" / "runtime" / "model.c"
    assert '#include "tf_mve_conv.h"' in model_c.read_text()
    assert data["performance"]["instructions"] < MAX_INSTRUCTIONS_PER_MAC * data["macs"]
