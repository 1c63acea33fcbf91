/* The device side of the MLPerf Tiny benchmark protocol (shared docs mlperf_tiny_protocol.md §1),
 * written from the specification. Per-model work is in model_io.c (th_load_tensor, th_results). */
#ifndef EE_PROTOCOL_H
#define EE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define EE_CMD_SIZE 80u
#define EE_CANCEL '\x18' /* ASCII CAN: discard the command being received (never sent by the official runner) */

void ee_benchmark_initialize(void);
void ee_serial_callback(char c);
size_t ee_get_buffer(uint8_t *buf, size_t max_len);
size_t ee_buffer_size(void);

/* per model (model_io.c) */
int th_load_tensor(void); /* 0 ok; otherwise it printed an e-[...] line */
void th_results(void);
void th_infer(void);
void th_final_initialize(void);

#endif
