/* int16 activation kernels of tf_activation.h, bit-exact with TFLM's reference kernels. */
#include "tf_kernels.h"
#include "tf_activation.h"

void tf_rescale_s16(const tf_rescale_params_t *p, const int16_t *in, int16_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        int32_t x = (int32_t)in[i] - p->input_offset;
        int32_t y;
        if (x >= 0) {
            y = tf_requantize(x, p->pos_multiplier, p->pos_shift);
        } else {
            y = tf_requantize(x, p->neg_multiplier, p->neg_shift);
            y = p->negate_neg ? -y : y;
        }
        y += p->output_offset;
        out[i] = (int16_t)(y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y));
    }
}

void tf_clamp_s16(const int16_t *in, int16_t *out, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) {
        int32_t v = in[i];
        /* TFLM's order: above hi first, so lo wins only below it */
        out[i] = (int16_t)(v > hi ? hi : (v < lo ? lo : v));
    }
}

/* |v| as TFLM's abs() leaves it for the table index; v is never INT32_MIN (activations.py bounds the
 * multiplier) */
static uint32_t tf_sigmoid_abs(int32_t v)
{
    return v < 0 ? (uint32_t)-v : (uint32_t)v;
}

void tf_logistic_s16(const uint16_t *table, int32_t mult, int32_t shift, const int16_t *in, int16_t *out,
                     int32_t n)
{
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    for (int32_t i = 0; i < n; ++i) {
        int32_t v = ((int32_t)in[i] * mult + round) >> shift;
        uint32_t a = tf_sigmoid_abs(v);
        uint32_t h = a >> 9, r;
        if (h >= 255u) {
            r = 0x7fffu << 10;
        } else {
            /* the table rises, so hi - lo does not wrap */
            uint32_t lo = table[h], hi = table[h + 1];
            r = (lo << 9) + (a & 0x1ffu) * (hi - lo);
        }
        /* sigmoid(-x) = 1 - sigmoid(x), rounded to Q0.15 */
        r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
        out[i] = (int16_t)(r >> 10);
    }
}

void tf_tanh_s16(const uint16_t *table, int32_t mult, int32_t shift, const int16_t *in, int16_t *out, int32_t n)
{
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    for (int32_t i = 0; i < n; ++i) {
        int32_t v = ((int32_t)in[i] * mult + round) >> shift;
        uint32_t a = tf_sigmoid_abs(v);
        uint32_t h = a >> 8;
        int32_t r;
        if (h >= 255u) {
            r = 0xffff << 8;
        } else {
            uint32_t lo = table[h], hi = table[h + 1];
            r = (int32_t)((lo << 8) + (a & 0xffu) * (hi - lo));
        }
        /* tanh(x) = 2 sigmoid(2x) - 1, odd; the shift is arithmetic, as TFLM's on int32 */
        r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
        out[i] = (int16_t)(r >> 8);
    }
}
