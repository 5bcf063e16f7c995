//  norc_mem.c - allocation helpers. A daemon that cannot allocate cannot do
//  anything useful, so these abort instead of returning NULL, and no caller
//  checks for NULL.
#include "norc_mem.h"

static void
s_oom (size_t size)
{
    fprintf (stderr, "norc: out of memory allocating %zu bytes\n", size);
    abort ();
}

void *
norc_malloc (size_t size)
{
    void *p = malloc (size ? size : 1);
    if (!p)
        s_oom (size);
    return p;
}

void *
norc_calloc (size_t count, size_t size)
{
    void *p = calloc (count ? count : 1, size ? size : 1);
    if (!p)
        s_oom (count * size);
    return p;
}

void *
norc_realloc (void *ptr, size_t size)
{
    void *p = realloc (ptr, size ? size : 1);
    if (!p)
        s_oom (size);
    return p;
}

char *
norc_strdup (const char *s)
{
    return norc_strndup (s, strlen (s));
}

char *
norc_strndup (const char *s, size_t n)
{
    char *p = (char *) norc_malloc (n + 1);
    memcpy (p, s, n);
    p [n] = 0;
    return p;
}

char *
norc_asprintf (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *p = norc_vasprintf (fmt, ap);
    va_end (ap);
    return p;
}

char *
norc_vasprintf (const char *fmt, va_list ap)
{
    va_list copy;
    va_copy (copy, ap);
    int n = vsnprintf (NULL, 0, fmt, copy);
    va_end (copy);
    assert (n >= 0);
    char *p = (char *) norc_malloc ((size_t) n + 1);
    vsnprintf (p, (size_t) n + 1, fmt, ap);
    return p;
}
