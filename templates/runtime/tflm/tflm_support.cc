/* What TFLM needs from the platform, for tinyflash's bare-metal firmware.
 * - DebugLog/DebugVsnprintf (tensorflow/lite/micro/debug_log.h): MicroPrintf output is discarded. The
 *   UART carries the MLPerf Tiny protocol, and nothing unsolicited may appear on it.
 * - C++ runtime pieces the firmware does not link (no libstdc++/libsupc++): TFLM never allocates from
 *   the heap or deletes polymorphic objects, but virtual destructors still reference operator delete,
 *   and abstract classes reference __cxa_pure_virtual.
 * - abort() and assert()'s __assert_func, which TFLM's checks call: newlib's versions print through
 *   stdio and raise signals, which need the _write/_kill/_sbrk system calls a bare-metal firmware lacks.
 *   A failed check stops here instead (the host's deadline then reports the hang with the serial log). */
#include <stdarg.h>
#include <stddef.h>

extern "C" void DebugLog(const char *format, va_list args)
{
    (void)format;
    (void)args;
}

extern "C" int DebugVsnprintf(char *buffer, size_t buf_size, const char *format, va_list vlist)
{
    (void)format;
    (void)vlist;
    if (buf_size > 0) {
        buffer[0] = '\0';
    }
    return 0;
}

extern "C" void abort(void)
{
    for (;;) {
    }
}

extern "C" void __assert_func(const char *file, int line, const char *function, const char *expression)
{
    (void)file;
    (void)line;
    (void)function;
    (void)expression;
    for (;;) {
    }
}

extern "C" void __cxa_pure_virtual(void)
{
    for (;;) {
    }
}

void operator delete(void *pointer) noexcept
{
    (void)pointer;
}

void operator delete(void *pointer, size_t size) noexcept
{
    (void)pointer;
    (void)size;
}
