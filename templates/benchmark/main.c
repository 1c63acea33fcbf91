/* Benchmark application entry: bring up the drivers, print the boot banner, then serve commands.
 * The main loop sleeps in WFI between received bytes so an idle emulated board costs no host CPU
 * (shared docs qemu_cortexm.md §2.5). */
#include "ee_protocol.h"
#include "tf_port.h"

int main(void)
{
    tf_uart_init();
    tf_timer_init();
    ee_benchmark_initialize();
    for (;;) {
        uint32_t primask = tf_irq_save();
        int c = tf_rx_pop();
        if (c < 0) {
            /* with interrupts masked, a byte arriving now still ends the WFI */
            __asm volatile("wfi");
        }
        tf_irq_restore(primask);
        if (c >= 0) {
            ee_serial_callback((char)c);
        }
    }
}
