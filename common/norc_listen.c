//  norc_listen.c - see norc_listen.h.
#include "norc_listen.h"
#include "norc_log.h"
#include "norc_mem.h"

int
norc_listen_resolve (const char *listen, struct addrinfo **found, char *err, size_t errsize)
{
    *found = NULL;
    char *host = norc_strdup (listen ? listen : "");
    char *colon = strrchr (host, ':');
    if (!colon) {
        snprintf (err, errsize, "\"%s\" is not HOST:PORT", listen ? listen : "");
        free (host);
        return NORC_ERROR;
    }
    *colon = 0;
    char *name = host;
    if (*name == '[' && name [strlen (name) - 1] == ']') {
        name [strlen (name) - 1] = 0;
        name++;
    }
    bool any = strcmp (name, "*") == 0;
    struct addrinfo hints = { .ai_family = any ? AF_INET : AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    int rc = getaddrinfo (any ? NULL : name, colon + 1, &hints, found);
    if (rc != 0 || !*found) {
        snprintf (err, errsize, "%s: %s", listen, gai_strerror (rc));
        free (host);
        return NORC_ERROR;
    }
    free (host);
    return NORC_OK;
}

void
norc_listen_mhd_log (void *arg, const char *format, va_list args)
{
    char text [512];
    vsnprintf (text, sizeof text, format, args);
    text [strcspn (text, "\n")] = 0;
    norc_log_debug ("%s: %s", arg ? (const char *) arg : "http", text);
}
