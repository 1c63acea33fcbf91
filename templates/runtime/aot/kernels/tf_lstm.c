/* UNIDIRECTIONAL_SEQUENCE_LSTM int8: the arithmetic of TFLM's lstm_eval.{h,cc} (LstmStep) with
 * reference_integer_ops FullyConnected, Logistic/Tanh (int16) and MulElementwise. */
#include <stddef.h>
#include "tf_kernels.h"
#include "tf_lstm.h"

/* sigmoid(i / 24) in 0.16 fixed point: the interpolation knots of TFLite's int16 Logistic and Tanh,
 * generated into model.c (quant.sigmoid_table_q16) */
extern const uint16_t tf_sigmoid_q16[256];

static int16_t tf_lstm_sat16(int32_t v)
{
    return (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
}

/* reference_integer_ops::Logistic (int16), input Q3.12 (multiplier 3, no shift): table interpolation
 * on |3x| with 9 fractional bits, mirrored for negative inputs, to Q0.15. */
static int16_t tf_lstm_sigmoid(int16_t x)
{
    int32_t v = (int32_t)x * 3;
    uint32_t a = (uint32_t)(v < 0 ? -v : v);
    uint32_t h = a >> 9, r;
    if (h >= 255) {
        r = 0x7fffu << 10;
    } else {
        uint32_t lo = tf_sigmoid_q16[h], hi = tf_sigmoid_q16[h + 1];
        r = (lo << 9) + (a & 0x1ffu) * (hi - lo);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

/* reference_integer_ops::Tanh (int16): tanh(x) = 2 sigmoid(2x) - 1 on the same table, 8 fractional
 * bits; the input scaled by (x * mult + round) >> shift as lstm_eval.cc's Tanh sets them up. */
static int16_t tf_lstm_tanh(int16_t x, int32_t mult, int32_t shift)
{
    int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    int32_t v = ((int32_t)x * mult + round) >> shift;
    uint32_t a = (uint32_t)(v < 0 ? -v : v);
    uint32_t h = a >> 8;
    int32_t r;
    if (h >= 255) {
        r = 0xffff << 8;
    } else {
        uint32_t lo = tf_sigmoid_q16[h], hi = tf_sigmoid_q16[h + 1];
        r = (int32_t)((lo << 8) + (a & 0xffu) * (hi - lo));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

/* MulElementwise with zero input offsets, int16 out */
static int16_t tf_lstm_mul16(int16_t a, int16_t b, int32_t mult, int32_t shift)
{
    return tf_lstm_sat16(tf_requantize((int32_t)a * (int32_t)b, mult, shift));
}


/* One time step of one batch row (TFLM's LstmStep; rows are independent, so batch-major and time-major
 * layouts both come down to this, in time order per row). */
static void tf_lstm_step(const tf_lstm_params_t *p, const int8_t *x, const int8_t *w_in, const int32_t *b_in,
                         const int8_t *w_rec, const int32_t *b_rec, int8_t *h, int16_t *c, int32_t *acc_in,
                         int32_t *acc_rec, int16_t *gate, int8_t *out, tf_lstm_matvec_fn matvec)
{
    const int32_t n = p->units;
    matvec(x, w_in, b_in, TF_LSTM_GATES * n, p->input_size, acc_in);
    matvec(h, w_rec, b_rec, TF_LSTM_GATES * n, n, acc_rec);
    /* gate pre-activations: each FC requantised and clamped to int16, then a saturating add */
    for (int32_t g = 0; g < TF_LSTM_GATES; ++g) {
        for (int32_t s = 0; s < n; ++s) {
            int32_t i = g * n + s;
            int32_t a = tf_lstm_sat16(tf_requantize(acc_in[i], p->in_mult[g], p->in_shift[g]));
            int32_t b = tf_lstm_sat16(tf_requantize(acc_rec[i], p->rec_mult[g], p->rec_shift[g]));
            int16_t pre = tf_lstm_sat16(a + b);
            gate[i] = g == TF_LSTM_CELL ? tf_lstm_tanh(pre, 3, 0) : tf_lstm_sigmoid(pre);
        }
    }
    const int16_t *f = gate + TF_LSTM_FORGET * n, *ig = gate + TF_LSTM_INPUT * n;
    const int16_t *cg = gate + TF_LSTM_CELL * n, *og = gate + TF_LSTM_OUTPUT * n;
    for (int32_t s = 0; s < n; ++s) {
        int32_t kept = tf_lstm_mul16(f[s], c[s], p->forget_mult, p->forget_shift);
        int32_t added = tf_lstm_mul16(ig[s], cg[s], p->input_mult, p->input_shift);
        int16_t cell = tf_lstm_sat16(kept + added);
        if (p->cell_clip > 0) {
            cell = cell > p->cell_clip ? (int16_t)p->cell_clip : cell;
            cell = cell < -p->cell_clip ? (int16_t)-p->cell_clip : cell;
        }
        c[s] = cell;
        int16_t t = tf_lstm_tanh(cell, p->cell_tanh_mult, p->cell_tanh_shift);
        int32_t v = tf_requantize((int32_t)t * (int32_t)og[s], p->hidden_mult, p->hidden_shift) + p->hidden_zp;
        h[s] = tf_clamp_s8(v, -128, 127);
        out[s] = h[s];
    }
}

void tf_lstm_s8(const tf_lstm_params_t *p, const int8_t *input, const int8_t *w_in, const int32_t *b_in,
                const int8_t *w_rec, const int32_t *b_rec, int8_t *hidden, int16_t *cell, int32_t *scratch,
                int8_t *output, tf_lstm_matvec_fn matvec)
{
    const int32_t n = p->units, state = p->batches * n;
    /* TFLM resets an int8 variable tensor to its zero point (micro_interpreter_graph.cc ResetTensorData),
     * the runtime resets the arena to zero: the arena holds hidden - zero_point, so both start alike */
    for (int32_t i = 0; i < state; ++i) {
        hidden[i] = (int8_t)(hidden[i] + p->hidden_zp);
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t t = 0; t < p->time_steps; ++t) {
            int32_t row = p->time_major ? t * p->batches + b : b * p->time_steps + t;
            tf_lstm_step(p, input + (size_t)row * p->input_size, w_in, b_in, w_rec, b_rec, hidden + b * n,
                         cell + b * n, scratch, scratch + TF_LSTM_GATES * n,
                         (int16_t *)(scratch + 2 * TF_LSTM_GATES * n), output + (size_t)row * n, matvec);
        }
    }
    for (int32_t i = 0; i < state; ++i) {
        hidden[i] = (int8_t)(hidden[i] - p->hidden_zp);
    }
}
