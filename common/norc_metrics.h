//  norc_metrics.h - Prometheus metrics of one process: counters, gauges and
//  histograms with labels, written in the text exposition format (0.0.4)
//  and served at /metrics on metrics.listen (docs/metrics.md).
//
//  A family is declared once (its name, type, help and, for a histogram,
//  its buckets); a series is a family and a label set written as the
//  exposition writes it: "queue=\"Q\",status=\"SUCCESS\"" ("" for none).
//  The services' loops update series; the HTTP server's thread reads them:
//  each call takes one lock.
#ifndef NORC_METRICS_H_INCLUDED
#define NORC_METRICS_H_INCLUDED
#include "norc.h"
#include "norc_config.h"

typedef enum { NORC_METRIC_COUNTER, NORC_METRIC_GAUGE, NORC_METRIC_HISTOGRAM } norc_metric_type_t;

//  Declare a family (again: nothing). buckets: a histogram's upper bounds,
//  ascending (count of them: nbuckets); NULL otherwise.
void norc_metrics_family (const char *name, norc_metric_type_t type, const char *help, const double *buckets,
                          size_t nbuckets);

//  A counter grows by value; a gauge is set to it; a histogram observes it.
void norc_metrics_add (const char *name, const char *labels, double value);
void norc_metrics_set (const char *name, const char *labels, double value);
void norc_metrics_observe (const char *name, const char *labels, double value);

//  A label value escaped for the exposition (\\, \" and \n), in out.
const char *norc_metrics_escape (const char *value, char *out, size_t size);

//  The exposition of every family, with this process's process_* series
//  and norc_build_info. Caller frees.
char *norc_metrics_text (void);

//  Serve /metrics on config's metrics.listen (HOST:PORT; "" : not at all),
//  from a thread of its own, for service (norc_build_info's label). NORC_OK,
//  or NORC_ERROR when the address cannot be bound (said in the log).
int norc_metrics_serve (norc_config_t *config, const char *service);

//  Whether /metrics is served (what only metrics need is skipped when not).
bool norc_metrics_serving (void);

//  Stop serving and forget every series (at exit).
void norc_metrics_shutdown (void);

#endif
