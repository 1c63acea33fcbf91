/* Cycle counter on SysTick, present on every Cortex-M. Restarting it at the start of a measurement
 * (writing CVR) puts the timer phase at the same instruction on every run, so under QEMU
 * -icount the tick count of a fixed workload repeats exactly; on hardware it counts core cycles. */
#include "tf_port.h"

#define SYST_CSR TF_REG(0xE000E010u)
#define SYST_RVR TF_REG(0xE000E014u)
#define SYST_CVR TF_REG(0xE000E018u)
#define SCB_ICSR TF_REG(0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)
#define ICSR_PENDSTCLR (1u << 25)

static volatile uint32_t overflows;

void SysTick_Handler(void)
{
    overflows++;
}

void tf_cycles_start(void)
{
    SYST_CSR = 0;
    SCB_ICSR = ICSR_PENDSTCLR;
    overflows = 0;
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* core clock, interrupt, enable */
}

/* Ticks since tf_cycles_start, interrupts masked; a wrap whose handler has not run yet is counted. */
static uint64_t read_count(void)
{
    uint32_t value = SYST_CVR;
    uint32_t wraps = overflows;
    if (SCB_ICSR & ICSR_PENDSTSET) { /* wrapped, handler not run yet */
        value = SYST_CVR;
        wraps++;
    } else if (value == 0 && wraps == 0) {
        return 0; /* started, first reload from RVR not yet done: not 0xFFFFFF ticks */
    }
    return (uint64_t)wraps * 0x01000000u + (0x00FFFFFFu - value);
}

uint64_t tf_cycles_now(void)
{
    uint32_t primask = tf_irq_save();
    uint64_t count = read_count();
    tf_irq_restore(primask);
    return count;
}

uint64_t tf_cycles_stop(void)
{
    uint32_t primask = tf_irq_save();
    uint64_t count = read_count();
    SYST_CSR = 0;
    SCB_ICSR = ICSR_PENDSTCLR;
    tf_irq_restore(primask);
    return count;
}
