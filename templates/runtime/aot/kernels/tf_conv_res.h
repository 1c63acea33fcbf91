/* CONV_2D with a residual ADD folded in (#14.2, the generator's fusion.py), portable path: each
 * output is the convolution's int8 value, requantised and clamped to the convolution's own output
 * as before, then TFLite's ADD (tf_add.c's arithmetic) of that value and the skip element. The ADD
 * keeps its input order: position says which input the convolution fed. skip may be the output
 * buffer itself: each skip element is read right before the output element over it is written. */
#ifndef TF_CONV_RES_H
#define TF_CONV_RES_H

#include "tf_kernels.h"

typedef struct {
    tf_add_params_t add;               /* the folded ADD's parameters, in its input order */
    int32_t position;                  /* 0: the convolution is the ADD's first input, 1: its second */
} tf_conv_res_params_t;

/* One element of reference_integer_ops::Add (tf_add.c, AddFunc). */
static inline int8_t tf_add_one_s8(const tf_add_params_t *p, int32_t x1, int32_t x2)
{
    const int32_t a = (p->in1_offset + x1) * (1 << p->left_shift);
    const int32_t b = (p->in2_offset + x2) * (1 << p->left_shift);
    const int32_t sa = tf_requantize(a, p->in1_mult, p->in1_shift);
    const int32_t sb = tf_requantize(b, p->in2_mult, p->in2_shift);
    return tf_clamp_s8(tf_requantize(sa + sb, p->out_mult, p->out_shift) + p->output_offset, p->act_min,
                       p->act_max);
}

void tf_conv_res_s8(const tf_conv_params_t *p, const tf_conv_res_params_t *r, const int8_t *input,
                    const int8_t *weights, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                    const int8_t *skip, int8_t *output);

#endif
