/* AVERAGE_POOL_2D and MAX_POOL_2D int8 (TFLite reference semantics: padded taps are skipped). */
#include "tf_kernels.h"

static inline int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }

/* One window walk for both; is_max is a constant at each call, so the compiler drops the other path. */
static inline void pool_s8(const tf_pool_params_t *p, const int8_t *input, int8_t *output, const int is_max)
{
    const tf_geom_t *g = &p->g;
    const int32_t ch = g->in_c;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * ch;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            const int32_t y0 = max32(0, -iy0), y1 = min32(g->k_h, g->in_h - iy0);
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                const int32_t x0 = max32(0, -ix0), x1 = min32(g->k_w, g->in_w - ix0);
                const int32_t count = (y1 - y0) * (x1 - x0);
                int8_t *out = output + ((b * g->out_h + oy) * g->out_w + ox) * ch;
                for (int32_t c = 0; c < ch; ++c) {
                    int32_t acc = is_max ? -128 : 0;
                    for (int32_t y = y0; y < y1; ++y) {
                        const int8_t *row = in_b + ((iy0 + y) * g->in_w + ix0) * ch + c;
                        for (int32_t x = x0; x < x1; ++x) {
                            acc = is_max ? max32(acc, row[x * ch]) : acc + row[x * ch];
                        }
                    }
                    out[c] = tf_clamp_s8(is_max ? acc : tf_pool_average(acc, count), p->act_min, p->act_max);
                }
            }
        }
    }
}

void tf_avg_pool_s8(const tf_pool_params_t *p, const int8_t *input, int8_t *output)
{
    pool_s8(p, input, output, 0);
}

void tf_max_pool_s8(const tf_pool_params_t *p, const int8_t *input, int8_t *output)
{
    pool_s8(p, input, output, 1);
}
