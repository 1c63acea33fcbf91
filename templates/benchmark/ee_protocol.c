/* MLPerf Tiny device protocol: command buffer, parser, db upload, infer timing, tinyflash extensions.
 * Hardened against the reference's bugs (spec §7.7): every buffer is bounds-checked and refused with
 * an e-[...] line; nothing is printed unsolicited after the boot banner; timestamps are 64-bit. */
#include <string.h>
#include "board.h"
#include "ee_protocol.h"
#include "model_config.h"
#include "tf_port.h"
#include "tf_runtime.h"

#define EE_PROFILE "ULPMark for tinyML Firmware V0.0.1"
#define MAX_TOKENS 4

static char cmd_buf[EE_CMD_SIZE + 1u];
static size_t cmd_len;
static int cmd_too_long;
static int parser_enabled;

static uint8_t db_buf[TF_DB_MAX_BYTES];
static size_t db_expected; /* declared by 'db load N' */
static size_t db_loaded;

static uint64_t last_cycles;
static uint32_t last_iterations;

static void ready(void)
{
    tf_puts("m-ready\r\n");
}

static void timestamp(void)
{
    tf_printf("m-lap-us-%llu\r\n", (unsigned long long)tf_timer_us());
}

size_t ee_get_buffer(uint8_t *buf, size_t max_len)
{
    size_t n = db_loaded < max_len ? db_loaded : max_len;
    memcpy(buf, db_buf, n);
    return n;
}

size_t ee_buffer_size(void)
{
    return db_loaded;
}

/* Strict unsigned decimal: "12" ok, "", "1x", "-1" rejected. */
static int parse_count(const char *s, unsigned long *out)
{
    unsigned long v = 0;
    if (!s || !*s) {
        return -1;
    }
    for (; *s; ++s) {
        if (*s < '0' || *s > '9' || v > 100000000ul) {
            return -1;
        }
        v = v * 10u + (unsigned long)(*s - '0');
    }
    *out = v;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void cmd_db(char **tok, int ntok)
{
    if (ntok < 2) {
        tf_puts("e-[Command 'db' requires a subcommand]\r\n");
        return;
    }
    if (strcmp(tok[1], "load") == 0) {
        unsigned long n;
        if (ntok < 3) {
            tf_puts("e-[Command 'db load' requires the # of bytes]\r\n");
        } else if (parse_count(tok[2], &n) != 0 || n == 0) {
            tf_puts("e-[Command 'db load' must be >0 bytes]\r\n");
        } else if (n > TF_DB_MAX_BYTES) {
            db_expected = 0;
            db_loaded = 0;
            tf_printf("e-[Supplied buffer size %lu exceeds maximum of %lu]\r\n", n, (unsigned long)TF_DB_MAX_BYTES);
        } else {
            db_expected = n;
            db_loaded = 0;
            tf_printf("m-[Expecting %lu bytes]\r\n", n);
        }
        return;
    }
    if (strcmp(tok[1], "print") == 0) {
        for (size_t i = 0; i < db_expected; i += 8u) {
            tf_puts("m-buffer");
            for (size_t j = i; j < i + 8u && j < db_expected; ++j) {
                tf_printf("-%02x", db_buf[j]);
            }
            tf_puts("\r\n");
        }
        return;
    }
    /* db <hex>: two digits per byte, appended at the write position */
    const char *hex = tok[1];
    size_t digits = strlen(hex);
    if (db_expected == 0) {
        tf_puts("e-[Command 'db <hex>' needs 'db load N' first]\r\n");
        return;
    }
    if (digits % 2u) {
        tf_puts("e-[Insufficent number of hex digits]\r\n");
        return;
    }
    if (db_loaded >= db_expected) {
        tf_printf("e-[Buffer already holds the %lu bytes declared]\r\n", (unsigned long)db_expected);
        return;
    }
    for (size_t i = 0; i < digits; i += 2u) {
        int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1u]);
        if (hi < 0 || lo < 0) {
            tf_printf("e-[Invalid hex digit '%c%c']\r\n", hex[i], hex[i + 1u]);
            return;
        }
        db_buf[db_loaded++] = (uint8_t)(hi * 16 + lo);
        if (db_loaded == db_expected) {
            tf_puts("m-load-done\r\n");
            return;
        }
    }
}

static void cmd_infer(char **tok, int ntok)
{
    unsigned long n = 1, w = 10; /* the reference's defaults */
    if (ntok >= 2 && (parse_count(tok[1], &n) != 0 || n == 0)) {
        tf_puts("e-[Inference iterations must be >0]\r\n");
        return;
    }
    if (ntok >= 3 && parse_count(tok[2], &w) != 0) {
        tf_puts("e-[Inference warmup must be >=0]\r\n");
        return;
    }
    if (th_load_tensor() != 0) {
        return;
    }
    tf_printf("m-warmup-start-%lu\r\n", w);
    for (unsigned long i = 0; i < w; ++i) {
        th_infer();
    }
    tf_puts("m-warmup-done\r\n");
    tf_printf("m-infer-start-%lu\r\n", n);
    timestamp();
    if (tf_runtime_profile_reset) {
        tf_runtime_profile_reset(); /* the profile covers the timed loop only */
    }
    tf_cycles_start(); /* th_pre: inside the timed region, as in the reference */
    for (unsigned long i = 0; i < n; ++i) {
        th_infer();
    }
    last_cycles = tf_cycles_stop(); /* th_post */
    last_iterations = (uint32_t)n;
    timestamp();
    tf_puts("m-infer-done\r\n");
    th_results();
}

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of the db buffer: the host's check that bytes it
 * wrote into the buffer through a debug port are the ones the firmware sees. Bitwise: no table in RAM. */
static uint32_t db_crc32(size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        crc ^= db_buf[i];
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/* tf-db-set N: the host wrote N input bytes straight into db_buf (m-tf-db-addr, through an emulator's or
 * probe's memory port), which stands for 'db load N' plus the hex upload; one byte per UART transfer
 * made that upload most of an emulated bench (#14). The CRC lets the host check the bytes landed. */
static void cmd_tf_db_set(char **tok, int ntok)
{
    unsigned long n;
    if (ntok < 2 || parse_count(tok[1], &n) != 0 || n == 0) {
        tf_puts("e-[Command 'tf-db-set' requires the # of bytes (>0)]\r\n");
        return;
    }
    if (n > TF_DB_MAX_BYTES) {
        db_expected = 0;
        db_loaded = 0;
        tf_printf("e-[Supplied buffer size %lu exceeds maximum of %lu]\r\n", n, (unsigned long)TF_DB_MAX_BYTES);
        return;
    }
    db_expected = n;
    db_loaded = n;
    tf_printf("m-tf-db-crc32-%08lx\r\n", (unsigned long)db_crc32(n));
    tf_puts("m-load-done\r\n");
}

/* tinyflash extensions (never sent by the official runner): raw output bytes for the golden check,
 * the cycle count of the last timed loop, what the firmware was built with, and the input buffer. */
static void cmd_tf(char **tok, int ntok)
{
    if (strcmp(tok[0], "tf-db-set") == 0) {
        cmd_tf_db_set(tok, ntok);
    } else if (strcmp(tok[0], "tf-info") == 0) {
        tf_printf("m-tf-board-[%s]\r\n", TF_BOARD_NAME);
        tf_printf("m-tf-model-[%s]\r\n", TF_MODEL_ID);
        tf_printf("m-tf-runtime-[%s]\r\n", tf_runtime_name());
        tf_printf("m-tf-arena-bytes-%lu\r\n", (unsigned long)tf_runtime_arena_bytes());
        if (tf_runtime_arena_used_bytes) {
            tf_printf("m-tf-arena-used-bytes-%lu\r\n", (unsigned long)tf_runtime_arena_used_bytes());
        }
        tf_printf("m-tf-input-bytes-%lu\r\n", (unsigned long)tf_runtime_input_bytes());
        tf_printf("m-tf-output-bytes-%lu\r\n", (unsigned long)tf_runtime_output_bytes());
        tf_printf("m-tf-cycle-hz-%lu\r\n", (unsigned long)TF_CORE_CLOCK_HZ);
        tf_printf("m-tf-db-addr-%lu\r\n", (unsigned long)(uintptr_t)db_buf);
        tf_printf("m-tf-db-max-bytes-%lu\r\n", (unsigned long)TF_DB_MAX_BYTES);
    } else if (strcmp(tok[0], "tf-output") == 0) {
        const uint8_t *out = (const uint8_t *)tf_runtime_output();
        size_t n = tf_runtime_output_bytes();
        for (size_t i = 0; i < n; i += 32u) {
            tf_printf("m-tf-output-%lu-", (unsigned long)i);
            for (size_t j = i; j < i + 32u && j < n; ++j) {
                tf_printf("%02x", out[j]);
            }
            tf_puts("\r\n");
        }
    } else if (strcmp(tok[0], "tf-cycles") == 0) {
        tf_printf("m-tf-cycles-%llu-%lu\r\n", (unsigned long long)last_cycles, (unsigned long)last_iterations);
    } else if (strcmp(tok[0], "tf-profile") == 0) {
        if (!tf_runtime_profile) {
            tf_puts("e-[no per-layer profile in this firmware: build with --profile]\r\n");
            return;
        }
        const uint64_t *cycles;
        size_t n = tf_runtime_profile(&cycles);
        for (size_t i = 0; i < n; ++i) {
            tf_printf("m-tf-profile-%lu-%llu\r\n", (unsigned long)i, (unsigned long long)cycles[i]);
        }
    } else {
        tf_printf("e-[Unknown command: %s]\r\n", tok[0]);
    }
}

static void dispatch(char *cmd)
{
    char *tok[MAX_TOKENS];
    int ntok = 0;
    for (char *p = cmd; *p && ntok < MAX_TOKENS;) {
        while (*p == ' ') {
            ++p;
        }
        if (!*p) {
            break;
        }
        tok[ntok++] = p;
        while (*p && *p != ' ') {
            ++p;
        }
        if (*p) {
            *p++ = '\0';
        }
    }
    if (ntok == 0) {
        /* a lone '%': the reference is undefined here; answering keeps terminals usable */
    } else if (strcmp(tok[0], "name") == 0) {
        tf_printf("m-name-dut-[%s]\r\n", TF_VENDOR_STRING);
    } else if (strcmp(tok[0], "profile") == 0) {
        tf_puts("m-profile-[" EE_PROFILE "]\r\n");
        tf_printf("m-model-[%s]\r\n", TF_MODEL_ID);
    } else if (strcmp(tok[0], "help") == 0) {
        tf_puts(EE_PROFILE " (tinyflash)\r\n\r\n");
        tf_puts("help         : this text\r\n");
        tf_puts("name         : print the device name\r\n");
        tf_puts("profile      : print the benchmark profile and model\r\n");
        tf_puts("timestamp    : print the µs timer\r\n");
        tf_puts("db load N    : allocate N bytes for the input\r\n");
        tf_puts("db HH[HH]... : load hex bytes\r\n");
        tf_puts("db print     : print the loaded bytes\r\n");
        tf_puts("infer [N [W]]: load the input, W warm-up then N timed inferences (N=1, W=10)\r\n");
        tf_puts("results      : print the last results\r\n");
        tf_puts("tf-info, tf-output, tf-cycles, tf-profile, tf-db-set N: tinyflash extensions\r\n");
    } else if (strcmp(tok[0], "timestamp") == 0) {
        timestamp();
    } else if (strcmp(tok[0], "db") == 0) {
        cmd_db(tok, ntok);
    } else if (strcmp(tok[0], "infer") == 0) {
        cmd_infer(tok, ntok);
    } else if (strcmp(tok[0], "results") == 0) {
        th_results();
    } else if (strncmp(tok[0], "tf-", 3) == 0) {
        cmd_tf(tok, ntok);
    } else {
        tf_printf("e-[Unknown command: %s]\r\n", tok[0]);
    }
    ready();
}

void ee_serial_callback(char c)
{
    if (c == EE_CANCEL) {
        /* the host's framing reset: tinyflash emulate sends it when a client leaves mid-command, so
         * its half is not prepended to the next client's command (#11.9); Ctrl-X in a terminal */
        cmd_len = 0;
        cmd_too_long = 0;
        return;
    }
    if (c == '%') {
        cmd_buf[cmd_len] = '\0';
        if (!parser_enabled) {
            /* commands before initialisation get no answer, as in the reference */
        } else if (cmd_too_long) {
            tf_printf("e-[Command longer than %u characters]\r\n", EE_CMD_SIZE);
            ready();
        } else {
            dispatch(cmd_buf);
        }
        cmd_len = 0;
        cmd_too_long = 0;
        return;
    }
    if (c == '\r' || c == '\n' || (c == ' ' && cmd_len == 0)) {
        return; /* typed in a terminal with Enter: harmless */
    }
    if (cmd_len < EE_CMD_SIZE) {
        cmd_buf[cmd_len++] = c;
    } else {
        cmd_too_long = 1;
    }
}

void ee_benchmark_initialize(void)
{
    tf_puts("m-timestamp-mode-performance\r\n");
    timestamp();
    th_final_initialize();
    tf_puts("m-init-done\r\n");
    parser_enabled = 1;
    ready();
}
