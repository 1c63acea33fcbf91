/* UNIDIRECTIONAL_SEQUENCE_LSTM, the int8 kernel of TFLM (lstm_eval.h EvalLstm<int8_t, int8_t, int16_t,
 * int32_t>): int8 input, weights and hidden state, int16 cell state and gates. Per step each gate is
 * two fully connected layers (input, hidden) requantised to Q3.12 int16, added with saturation, then
 * sigmoid (tanh for the cell gate) to Q0.15; the cell becomes forget*cell + input*cell_gate
 * (saturated, optionally clipped), the hidden state tanh(cell)*output, copied to the output. */
#ifndef TF_LSTM_H
#define TF_LSTM_H

#include <stdint.h>

enum { TF_LSTM_FORGET, TF_LSTM_INPUT, TF_LSTM_CELL, TF_LSTM_OUTPUT, TF_LSTM_GATES };

typedef struct {
    int32_t batches, time_steps, input_size, units, time_major;
    int32_t in_mult[TF_LSTM_GATES], in_shift[TF_LSTM_GATES];      /* input FC -> Q3.12 */
    int32_t rec_mult[TF_LSTM_GATES], rec_shift[TF_LSTM_GATES];    /* hidden FC -> Q3.12 */
    int32_t forget_mult, forget_shift;      /* forget gate x cell -> cell */
    int32_t input_mult, input_shift;        /* input gate x cell gate -> cell */
    int32_t hidden_mult, hidden_shift, hidden_zp;   /* tanh(cell) x output gate -> hidden (int8) */
    int32_t cell_clip;                      /* quantised; 0: no clipping */
    int32_t cell_tanh_mult, cell_tanh_shift;        /* tanh's input scaling for the cell's scale */
} tf_lstm_params_t;

/* acc[r] = bias[r] + x . w[r] for the 'rows' rows of w (int8, 'cols' wide), int32 wrapping */
typedef void (*tf_lstm_matvec_fn)(const int8_t *x, const int8_t *w, const int32_t *bias, int32_t rows,
                                  int32_t cols, int32_t *acc);

/* Weights of the four gates stacked in TF_LSTM_* order: w_in [4][units][input_size], w_rec
 * [4][units][units]; b_in = bias - input_zp * sum(w_in row), b_rec = -hidden_zp * sum(w_rec row).
 * scratch: 8 * units int32 then 4 * units int16. hidden and cell are the variable tensors, updated in place; the hidden
 * state is kept there minus its zero point (see tf_lstm.c). */
void tf_lstm_s8(const tf_lstm_params_t *p, const int8_t *input, const int8_t *w_in, const int32_t *b_in,
                const int8_t *w_rec, const int32_t *b_rec, int8_t *hidden, int16_t *cell, int32_t *scratch,
                int8_t *output, tf_lstm_matvec_fn matvec);


#endif
