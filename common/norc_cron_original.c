//  norc_cron_original.c - what a user typed, turned into the form Norc
//  stores: the original Norc encoding ("o*d1w*h0m0s0", long keys) and its
//  shorthands (HALFHOURLY ... MONTHLY) become a 6-field cron expression;
//  anything else is checked and trimmed.
#include "norc_cron_internal.h"
#include "norc_mem.h"
#include <ctype.h>
#include <strings.h>

//  Where a failure's one line goes
typedef struct {
    char *err;
    size_t errsize;
} s_err_t;

static int
s_fail (s_err_t *p, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
s_fail (s_err_t *p, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (p->err, p->errsize, fmt, ap);
    va_end (ap);
    return NORC_ERROR;
}

static const struct { const char *key; int field; } s_original_keys [] = {
    { "o", F_MON }, { "month", F_MON }, { "months", F_MON },
    { "d", F_DOM }, { "day", F_DOM }, { "days", F_DOM },
    { "w", F_DOW }, { "weekday", F_DOW }, { "weekdays", F_DOW }, { "daysofweek", F_DOW },
    { "h", F_HOUR }, { "hour", F_HOUR }, { "hours", F_HOUR },
    { "m", F_MIN }, { "minute", F_MIN }, { "minutes", F_MIN },
    { "s", F_SEC }, { "second", F_SEC }, { "seconds", F_SEC }, { "sec", F_SEC }, { "secs", F_SEC }
};

static uint32_t
s_rand (uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

//  Bits to "1,5,7" or "*".
static void
s_list (uint64_t bits, int lo, int hi, char *out, size_t size)
{
    uint64_t all = 0;
    for (int v = lo; v <= hi; v++)
        all |= UINT64_C (1) << v;
    if ((bits & all) == all) {
        snprintf (out, size, "*");
        return;
    }
    size_t n = 0;
    out [0] = 0;
    for (int v = lo; v <= hi; v++)
        if ((bits >> v) & 1)
            n += (size_t) snprintf (out + n, n < size ? size - n : 0, "%s%d", n ? "," : "", v);
}

//  True when text starts as the original encoding does: one of its
//  shorthands, or one of its keys followed by * or a number.
static bool
s_is_original (const char *text)
{
    static const char *shorthands [] = { "HALFHOURLY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY" };
    size_t klen = 0;
    while (isalpha ((unsigned char) text [klen]))
        klen++;
    for (size_t i = 0; i < sizeof shorthands / sizeof shorthands [0]; i++)
        if (strlen (shorthands [i]) == klen && strncasecmp (text, shorthands [i], klen) == 0)
            return true;
    const char *after = text + klen;
    while (isspace ((unsigned char) *after))
        after++;
    if (*after != '*' && !isdigit ((unsigned char) *after))
        return false;
    for (size_t i = 0; i < sizeof s_original_keys / sizeof s_original_keys [0]; i++)
        if (strlen (s_original_keys [i].key) == klen && strncasecmp (text, s_original_keys [i].key, klen) == 0)
            return true;
    return false;
}

//  Translate the original encoding into a 6-field expression. Returns a
//  heap string or NULL with err set.
static char *
s_translate_original (s_err_t *p, const char *expr, uint32_t seed)
{
    //  Whitespace is removed first, as the original did
    char *text = (char *) norc_malloc (strlen (expr) + 1);
    size_t n = 0;
    for (const char *q = expr; *q; q++)
        if (!isspace ((unsigned char) *q))
            text [n++] = *q;
    text [n] = 0;
    uint32_t state = seed ? seed : 1;
    uint64_t bits [F_COUNT] = { 0 };
    bool given [F_COUNT] = { false };
    char *result = NULL;

    static const struct { const char *name; const char *format; } shorthands [] = {
        { "HALFHOURLY", "o*d*w*h*m%d,%ds%d" }, { "HOURLY", "o*d*w*h*m%ds%d" },
        { "DAILY", "o*d*w*h%dm%ds%d" }, { "WEEKLY", "o*d*w%dh%dm%ds%d" },
        { "MONTHLY", "o*d%dw*h%dm%ds%d" }
    };
    char expanded [64];
    for (size_t i = 0; i < 5; i++)
        if (strcasecmp (text, shorthands [i].name) == 0) {
            int m = (int) (s_rand (&state) % (i == 0 ? 30 : 60));
            int s = (int) (s_rand (&state) % 60);
            int h = (int) (s_rand (&state) % 24);
            if (i == 0)
                snprintf (expanded, sizeof expanded, shorthands [i].format, m, m + 30, s);
            else
            if (i == 1)
                snprintf (expanded, sizeof expanded, shorthands [i].format, m, s);
            else
            if (i == 2)
                snprintf (expanded, sizeof expanded, shorthands [i].format, h, m, s);
            else
            if (i == 3)
                snprintf (expanded, sizeof expanded, shorthands [i].format,
                          (int) (s_rand (&state) % 7), h, m, s);
            else
                snprintf (expanded, sizeof expanded, shorthands [i].format,
                          (int) (s_rand (&state) % 28) + 1, h, m, s);
            free (text);
            text = norc_strdup (expanded);
            break;
        }

    const char *q = text;
    while (*q) {
        const char *key = q;
        while (isalpha ((unsigned char) *q))
            q++;
        size_t klen = (size_t) (q - key);
        int field = -1;
        for (size_t i = 0; i < sizeof s_original_keys / sizeof s_original_keys [0]; i++)
            if (strlen (s_original_keys [i].key) == klen
            &&  strncasecmp (key, s_original_keys [i].key, klen) == 0)
                field = s_original_keys [i].field;
        if (klen == 0 || field < 0) {
            s_fail (p, "original encoding: unknown key \"%.*s\" (use o d w h m s)",
                     (int) (klen ? (klen < 20 ? klen : 20) : 1), key);
            goto done;
        }
        if (given [field]) {
            s_fail (p, "original encoding: key \"%.*s\" given twice", (int) klen, key);
            goto done;
        }
        given [field] = true;
        int lo = field == F_DOW ? 0 : norc_cron_fields [field].min;
        int hi = field == F_DOW ? 6 : norc_cron_fields [field].max;
        if (*q == '*') {
            q++;
            for (int v = lo; v <= hi; v++)
                bits [field] |= UINT64_C (1) << v;
            continue;
        }
        do {
            if (*q == ',')
                q++;
            if (!isdigit ((unsigned char) *q)) {
                s_fail (p, "original encoding: key \"%.*s\" needs * or numbers",
                         (int) klen, key);
                goto done;
            }
            long v = 0;
            while (isdigit ((unsigned char) *q) && v < 1000)
                v = v * 10 + (*q++ - '0');
            if (v < lo || v > hi) {
                s_fail (p, "original encoding: %ld is out of range %d-%d for key \"%.*s\"",
                         v, lo, hi, (int) klen, key);
                goto done;
            }
            //  The original's weekday 0 is Monday; cron's 0 is Sunday
            bits [field] |= UINT64_C (1) << (field == F_DOW ? (v + 1) % 7 : v);
        } while (*q == ',');
    }
    char f [F_COUNT][200];
    for (int i = 0; i < F_COUNT; i++) {
        int lo = i == F_DOW ? 0 : norc_cron_fields [i].min;
        int hi = i == F_DOW ? 6 : norc_cron_fields [i].max;
        if (!given [i] && i == F_SEC)
            bits [i] = UINT64_C (1) << (s_rand (&state) % 60);
        else
        if (!given [i])
            bits [i] = ~UINT64_C (0);
        s_list (bits [i], lo, hi, f [i], sizeof f [i]);
    }
    result = norc_asprintf ("%s %s %s %s %s %s", f [F_SEC], f [F_MIN], f [F_HOUR],
                            f [F_DOM], f [F_MON], f [F_DOW]);
done:
    free (text);
    return result;
}

char *
norc_cron_normalize (const char *expr, const char *tz, uint32_t seed,
                     char *err, size_t errsize)
{
    s_err_t p = { err, errsize };
    if (!expr) {
        s_fail (&p, "no expression");
        return NULL;
    }
    const char *text = expr;
    while (isspace ((unsigned char) *text))
        text++;
    size_t len = strlen (text);
    while (len && isspace ((unsigned char) text [len - 1]))
        len--;
    if (len == 0) {
        s_fail (&p, "empty expression");
        return NULL;
    }
    char *result;
    if (isalpha ((unsigned char) text [0]) && !s_is_original (text)) {
        size_t wlen = 0;
        while (wlen < len && !isspace ((unsigned char) text [wlen]))
            wlen++;
        s_fail (&p, "\"%.*s\" is not a cron field: expected 5 fields (minute hour day month weekday) "
                 "or 6 (seconds first), e.g. \"30 2 * * *\", or @daily, \"@every 90s\", "
                 "or the original encoding, e.g. HOURLY or h2m0s0", (int) (wlen > 40 ? 40 : wlen), text);
        return NULL;
    }
    if (isalpha ((unsigned char) text [0])) {
        result = s_translate_original (&p, text, seed);
        if (!result)
            return NULL;
    }
    else
        result = norc_strndup (text, len);
    norc_cron_t *check = norc_cron_new (result, tz, err, errsize);
    if (!check) {
        free (result);
        return NULL;
    }
    norc_cron_destroy (&check);
    return result;
}
