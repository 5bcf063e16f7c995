//  norc_store_claims.h - claims of the ticks that SQS carries: which
//  executor, on a remote site, runs an instance of an sqs queue. The claim
//  is the instance's own row, changed under its lock, so it is decided
//  once whatever copies of the message SQS delivers (docs/sqs.md).
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_CLAIMS_H_INCLUDED
#define NORC_STORE_CLAIMS_H_INCLUDED
#include "norc.h"
#include "norc_db.h"

typedef enum {
    NORC_CLAIM_ACCEPTED = 1,    //  the executor holds it now: run it
    NORC_CLAIM_DUPLICATE = 2,   //  another executor holds it, or it has started: a copy
    NORC_CLAIM_CANCELLED = 3    //  it has ended, is unknown, or cannot be run: nothing to run
} norc_claim_outcome_t;

typedef struct {
    uint64_t instance_id;
    int attempt;                //  the message's
    uint64_t executor_id;       //  the executor that is to run it
    bool digest_matches;        //  the message's digest is the task's
} norc_claim_t;

//  Claim an instance of an sqs queue for an executor, in one transaction
//  under the instance's lock:
//  - accepted when it waits (CREATED, and unassigned or held by a bridge,
//    the one that sent it) or is held by this executor already (a copy
//    claimed again by the same executor, which never starts a run twice);
//  - duplicate when it has started (or run and ended), or another executor
//    holds it;
//  - cancelled when it does not exist, belongs to a queue that is not sqs,
//    is another attempt than the message's, or has ended without running
//    (killed while it waited); and when the
//    digest does not match: it then ends ERROR (cancelled), as its
//    definition is not the one that was sent.
//  *outcome gets the outcome, why (whysize) the reason when not accepted,
//  *holder the executor that holds it when that one has not started it
//  (a duplicate that executor may still be handed: it is claimed again for it).
int norc_store_claim (norc_db_t *db, const norc_claim_t *claim, int *outcome, uint64_t *holder, char *why,
                      size_t whysize);

//  Why an instance of an sqs queue still waits (sent, not claimed), as its
//  reason, while it waits (CREATED); NORC_NOTFOUND when it does not wait
//  (any more). Its claim clears the reason.
int norc_store_claim_waiting (norc_db_t *db, uint64_t instance_id, const char *reason);

#endif
