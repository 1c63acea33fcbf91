/* What every inference runtime (tinyflash's own AOT code, TFLM, ...) provides to the benchmark.
 * One interface, so the protocol code and the per-model pre/post-processing never change. */
#ifndef TF_RUNTIME_H
#define TF_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

int tf_runtime_init(void);        /* 0 on success */
const char *tf_runtime_name(void);
int8_t *tf_runtime_input(void);
size_t tf_runtime_input_bytes(void);
const int8_t *tf_runtime_output(void);
size_t tf_runtime_output_bytes(void);
void tf_runtime_invoke(void);
size_t tf_runtime_arena_bytes(void); /* activation memory the runtime reserves */
/* Optional (weak): what a runtime that plans its arena at init (TFLM) actually used of it. */
size_t tf_runtime_arena_used_bytes(void) __attribute__((weak));
/* Optional (weak), present in builds with TF_PROFILE: cycles spent in each layer (in the order of the
 * project's "layers") since the last reset, counted with tf_cycles_now. Returns the layer count. */
size_t tf_runtime_profile(const uint64_t **cycles) __attribute__((weak));
/* Optional (weak), present when the model has variable tensors (recurrent state): sets them to zero.
 * Called when an input is loaded, so each loaded input is inferred from the same state. */
void tf_runtime_reset_state(void) __attribute__((weak));
void tf_runtime_profile_reset(void) __attribute__((weak));

#endif
