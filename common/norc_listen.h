//  norc_listen.h - what Norc's HTTP servers (/metrics in every service,
//  norc-web) share: the address they listen on, and libmicrohttpd's
//  complaints in Norc's log.
#ifndef NORC_LISTEN_H_INCLUDED
#define NORC_LISTEN_H_INCLUDED
#include "norc.h"
#include <netdb.h>
#include <stdarg.h>

//  HOST:PORT ([V6]:PORT too; * as HOST: every IPv4 address, as a
//  container may have no IPv6) as the address to bind: NORC_OK with
//  *found (the caller frees it with freeaddrinfo), or NORC_ERROR with why
//  in err.
int norc_listen_resolve (const char *listen, struct addrinfo **found, char *err, size_t errsize);

//  A libmicrohttpd external logger: its line in Norc's log at debug level,
//  after arg (a prefix such as "metrics").
void norc_listen_mhd_log (void *arg, const char *format, va_list args);

#endif
