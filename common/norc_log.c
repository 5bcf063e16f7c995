//  norc_log.c - the logger. Its settings are the only mutable global state in
//  Norc besides zsys_interrupted. A line is formatted into one buffer and
//  written with one fwrite, so lines from several processes sharing a stream
//  do not interleave mid-line.
#include "norc_log.h"
#include <errno.h>
#include <strings.h>
#include <unistd.h>

static char  s_ident [32] = "norc";
static int   s_level = NORC_LOG_INFO;
static FILE *s_stream = NULL;

static const char *s_level_names [] = { "debug", "info", "warn", "error" };

void
norc_log_init (const char *ident, int level)
{
    snprintf (s_ident, sizeof (s_ident), "%s", ident ? ident : "norc");
    if (level >= NORC_LOG_DEBUG && level <= NORC_LOG_ERROR)
        s_level = level;
}

int
norc_log_level_parse (const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcasecmp (name, s_level_names [i]) == 0)
            return i;
    if (name && strcasecmp (name, "warning") == 0)
        return NORC_LOG_WARN;
    return -1;
}

void
norc_log_set_stream (FILE *stream)
{
    s_stream = stream;
}

bool
norc_log_enabled (int level)
{
    return level >= s_level;
}

static void
s_vlog (int level, const char *suffix, const char *fmt, va_list ap)
{
    char line [2048];
    char when [40];
    norc_time_iso (norc_now_us (), when, sizeof (when));
    int n = snprintf (line, sizeof (line), "%s %s[%d] %s: ",
                      when, s_ident, (int) getpid (), s_level_names [level]);
    if (n < 0 || (size_t) n >= sizeof (line))
        n = 0;
    int m = vsnprintf (line + n, sizeof (line) - (size_t) n, fmt, ap);
    if (m > 0)
        n = (size_t) (n + m) >= sizeof (line) - 1? (int) sizeof (line) - 2: n + m;
    if (suffix) {
        int k = snprintf (line + n, sizeof (line) - (size_t) n, ": %s", suffix);
        if (k > 0)
            n = (size_t) (n + k) >= sizeof (line) - 1? (int) sizeof (line) - 2: n + k;
    }
    //  One event, one line: embedded newlines would break grep and parsers
    for (int i = 0; i < n; i++)
        if (line [i] == '\n' || line [i] == '\r')
            line [i] = ' ';
    line [n++] = '\n';
    FILE *out = s_stream ? s_stream : stderr;
    fwrite (line, 1, (size_t) n, out);
    fflush (out);
}

#define S_LOG_BODY(level, suffix) \
    if (level < s_level) \
        return; \
    va_list ap; \
    va_start (ap, fmt); \
    s_vlog (level, suffix, fmt, ap); \
    va_end (ap);

void norc_log_debug (const char *fmt, ...) { S_LOG_BODY (NORC_LOG_DEBUG, NULL) }
void norc_log_info (const char *fmt, ...)  { S_LOG_BODY (NORC_LOG_INFO, NULL) }
void norc_log_warnx (const char *fmt, ...) { S_LOG_BODY (NORC_LOG_WARN, NULL) }
void norc_log_error (const char *fmt, ...) { S_LOG_BODY (NORC_LOG_ERROR, NULL) }

void
norc_log_warn (const char *fmt, ...)
{
    int saved = errno;
    S_LOG_BODY (NORC_LOG_WARN, strerror (saved))
    errno = saved;
}

void
norc_fatal (const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start (ap, fmt);
    s_vlog (NORC_LOG_ERROR, strerror (saved), fmt, ap);
    va_end (ap);
    exit (1);
}

void
norc_fatalx (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vlog (NORC_LOG_ERROR, NULL, fmt, ap);
    va_end (ap);
    exit (1);
}
