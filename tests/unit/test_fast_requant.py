"""tf_fast.h's cheap requantisation (tf_rq) against the generic tf_requantize, on the host, for random
channels the generator accepts (quant.fast_requant) and random accumulators within their proven
bound, including the bound's edges; in all its forms (exact double rounding, and the single
rounding with a per-channel or a shared right shift it uses when act_min >= the output offset)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyflash.generate.runtime.aot.quant import fast_requant, shared_shift_requant
from tinyflash.resources import templates_dir

_PROGRAM = r"""
#include <stdio.h>
#include "tf_fast.h"
int main(void)
{
    long acc, m, shift, mult, left, right, round, zp, lo, mode;
    while (scanf("%ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", &acc, &m, &shift, &mult, &left, &right, &round, &zp,
                 &lo, &mode) == 10) {
        const tf_rq_t q = {(int32_t)mult, (int32_t)left, (int32_t)right, (int32_t)round};
        int32_t slow = tf_requantize((int32_t)acc, (int32_t)m, (int32_t)shift) + (int32_t)zp;
        printf("%d %d\n", tf_rq((int32_t)acc, &q, (int32_t)lo, 127, (int32_t)mode),
               tf_clamp_s8(slow, (int32_t)lo, 127));
    }
    return 0;
}
"""


def test_fast_requant_equals_tflite_rounding(tmp_path: Path) -> None:
    """All three forms of tf_rq: exact (mode 0, any act_min), one rounding (mode 1) and the shared
    shift (mode R) under a ReLU-style act_min = offset."""
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    source = tmp_path / "rq.c"
    source.write_text(_PROGRAM)
    kernels = templates_dir() / "runtime" / "aot" / "kernels"
    subprocess.run(["gcc", "-O2", "-fwrapv", f"-I{kernels}", str(source), "-o", str(tmp_path / "rq")], check=True)
    rng = np.random.default_rng(7)
    lines = []
    accepted = shared_accepted = 0
    deltas = set()
    for _ in range(400):
        m = np.array([int(rng.integers(2**30, 2**31))], dtype=np.int64)
        shift = np.array([int(rng.integers(-24, 2))], dtype=np.int64)
        bias = np.array([int(rng.integers(-2**20, 2**20))], dtype=np.int64)
        wsum = np.array([int(rng.integers(0, 3000))], dtype=np.int64)
        zp = int(rng.integers(-128, 128))
        rows = fast_requant(m, shift, bias, wsum, zp)
        if rows is None:
            continue
        accepted += 1
        mult, left, right, rounding = (int(v) for v in rows[0])
        bound = abs(int(bias[0])) + 128 * int(wsum[0])
        accs = {int(bias[0]), -bound, bound} | {int(a) for a in rng.integers(-bound, bound + 1, size=50)}
        # and where it matters: accumulators landing on unsaturated outputs, ties and their neighbours
        real = int(m[0]) * 2.0 ** (int(shift[0]) - 31)
        for v in rng.integers(-140, 140, size=40):
            centre = int(round((int(v) - zp + 0.5 * int(rng.integers(-1, 2))) / real))
            accs |= {a for a in range(centre - 2, centre + 3) if -bound <= a <= bound}
        if wsum[0] == 0:
            accs = {int(bias[0])}     # all-zero weights: the accumulator is the bias
        head = f"{int(m[0])} {int(shift[0])}"
        lines += [f"{a} {head} {mult} {left} {right} {rounding} {zp} -128 0" for a in accs]
        lines += [f"{a} {head} {mult} {left} {right} {rounding} {zp} {zp} 1" for a in accs]
        # shared shift: beside a channel of a larger right shift (d > 1), as in a real layer
        extra = int(rng.integers(0, 4))
        partner = np.array([[2**30, 1, right + extra, 1 << (right + extra - 1)]], dtype=np.int32)
        shared = shared_shift_requant(np.concatenate([rows, partner]), np.append(bias, 0), np.append(wsum, 1), zp)
        if shared is not None:
            shared_accepted += 1
            (s_mult, s_left, _, s_round), mode = (int(v) for v in shared[0][0]), shared[1]
            deltas.add(mode - right)
            lines += [f"{a} {head} {s_mult} {s_left} {mode} {s_round} {zp} {zp} {mode}" for a in accs]
    assert accepted > 100 and shared_accepted > 50
    assert {1, 2, 3, 4} <= deltas
    out = subprocess.run([str(tmp_path / "rq")], input="\n".join(lines) + "\n", capture_output=True, text=True,
                         check=True).stdout.split("\n")
    pairs = [line.split() for line in out if line]
    assert len(pairs) == len(lines)
    bad = [(lines[i], p) for i, p in enumerate(pairs) if p[0] != p[1]]
    assert not bad, bad[:5]
