/* The porting layer every generated benchmark application links against: what the board drivers
 * provide (UART, µs timer, cycle counter) and what the protocol code uses. */
#ifndef TF_PORT_H
#define TF_PORT_H

#include <stddef.h>
#include <stdint.h>

#define TF_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* clock.c: oscillators, PLL, bus prescalers, flash wait states (the board's clock: section) */
void tf_clock_init(void);

/* board_init.c */
void tf_board_init(void);

/* drivers/uart: polled transmit, interrupt-driven receive into the ring buffer below */
void tf_uart_init(void);
void tf_uart_putc(char c);
void tf_uart_irq_handler(void);
void tf_rx_push(uint8_t byte); /* called by the UART interrupt handler */
int tf_rx_pop(void);           /* -1 when empty */

/* drivers/timer: free-running 64-bit µs counter (m-lap-us) */
void tf_timer_init(void);
uint64_t tf_timer_us(void);
void tf_timer_irq_handler(void);

/* drivers/cyclecount: SysTick restarted at the start of a measurement, so the phase is the same on
 * every run; under QEMU -icount shift=0 its ticks map exactly to executed instructions. */
void tf_cycles_start(void);
uint64_t tf_cycles_stop(void);
uint64_t tf_cycles_now(void); /* while running: ticks since tf_cycles_start (per-layer profile) */
void SysTick_Handler(void);

/* output */
void tf_puts(const char *s);
void tf_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* interrupts */
static inline uint32_t tf_irq_save(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
    return primask;
}
static inline void tf_irq_restore(uint32_t primask)
{
    __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}
static inline void tf_nvic_enable(unsigned irq)
{
    TF_REG(0xE000E100u + 4u * (irq / 32u)) = 1u << (irq % 32u);
}

#endif
