/* Receive ring buffer and a small formatted printer for the benchmark UART.
 * The printer covers what the protocol needs (%s %c %d %u %x %lu %llu %02x, %.Nf) without newlib's
 * stdio, which would pull in malloc and several KB of flash. */
#include <stdarg.h>
#include <stdint.h>
#include "tf_port.h"

#define RX_SIZE 512u /* a power of two; the host sends at most one 66-byte command at a time */

static volatile uint8_t rx_ring[RX_SIZE];
static volatile uint32_t rx_head; /* written by the interrupt handler */
static volatile uint32_t rx_tail; /* written by the main loop */

void tf_rx_push(uint8_t byte)
{
    uint32_t head = rx_head;
    if (head - rx_tail < RX_SIZE) { /* full: drop, the protocol layer reports the garbled command */
        rx_ring[head % RX_SIZE] = byte;
        rx_head = head + 1u;
    }
}

int tf_rx_pop(void)
{
    uint32_t tail = rx_tail;
    if (tail == rx_head) {
        return -1;
    }
    int byte = rx_ring[tail % RX_SIZE];
    rx_tail = tail + 1u;
    return byte;
}

void tf_puts(const char *s)
{
    while (*s) {
        tf_uart_putc(*s++);
    }
}

static void put_unsigned(unsigned long long value, unsigned base, int width, char pad)
{
    char digits[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(value % base);
        digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        value /= base;
    } while (value);
    while (width-- > n) {
        tf_uart_putc(pad);
    }
    while (n) {
        tf_uart_putc(digits[--n]);
    }
}

static void put_fixed(double value, int precision)
{
    static const unsigned long long scales[] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull};
    if (value != value) {
        tf_puts("nan");
        return;
    }
    if (value < 0) {
        tf_uart_putc('-');
        value = -value;
    }
    if (precision > 6) {
        precision = 6;
    }
    if (value > 1.8e13) {
        tf_puts("inf");
        return;
    }
    unsigned long long scaled = (unsigned long long)(value * (double)scales[precision] + 0.5);
    put_unsigned(scaled / scales[precision], 10, 0, ' ');
    if (precision) {
        tf_uart_putc('.');
        put_unsigned(scaled % scales[precision], 10, precision, '0');
    }
}

void tf_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; ++fmt) {
        if (*fmt != '%') {
            tf_uart_putc(*fmt);
            continue;
        }
        ++fmt;
        char pad = ' ';
        int width = 0, precision = 6, longs = 0;
        if (*fmt == '0') {
            pad = '0';
            ++fmt;
        }
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            precision = 0;
            ++fmt;
            while (*fmt >= '0' && *fmt <= '9') {
                precision = precision * 10 + (*fmt++ - '0');
            }
        }
        while (*fmt == 'l') {
            ++longs;
            ++fmt;
        }
        switch (*fmt) {
        case 's': tf_puts(va_arg(ap, const char *)); break;
        case 'c': tf_uart_putc((char)va_arg(ap, int)); break;
        case 'd': {
            long long v = longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0) {
                tf_uart_putc('-');
                v = -v;
            }
            put_unsigned((unsigned long long)v, 10, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = longs >= 2 ? va_arg(ap, unsigned long long)
                                   : longs  ? va_arg(ap, unsigned long)
                                            : va_arg(ap, unsigned);
            put_unsigned(v, *fmt == 'x' ? 16u : 10u, width, pad);
            break;
        }
        case 'f': put_fixed(va_arg(ap, double), precision); break;
        case '%': tf_uart_putc('%'); break;
        default: return;
        }
    }
    va_end(ap);
}
