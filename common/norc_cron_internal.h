//  norc_cron_internal.h - the fields of a cron expression, shared by the
//  grammar (norc_cron.c) and the translation of the original encoding
//  (norc_cron_original.c).
#ifndef NORC_CRON_INTERNAL_H_INCLUDED
#define NORC_CRON_INTERNAL_H_INCLUDED
#include "norc_cron.h"

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_COUNT };

typedef struct {
    const char *name;           //  "day of month", for errors
    int min, max;               //  day of week: 0-7, both 0 and 7 are Sunday
} norc_cron_field_t;

extern const norc_cron_field_t norc_cron_fields [F_COUNT];

#endif
