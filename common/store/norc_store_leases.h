//  norc_store_leases.h - the record's named leases (one holder at a time: dispatch, ...).
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_LEASES_H_INCLUDED
#define NORC_STORE_LEASES_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"

//  Named leases (table leases): one holder at a time. Takes the lease for
//  `holder` until `until` when it is free, expired or already held by it;
//  *held says whether it now holds it, *epoch the lease's epoch (it goes up
//  whenever the holder changes).
int norc_store_lease_acquire (norc_db_t *db, const char *name, uint64_t holder, norc_us_t now,
                              norc_us_t until, bool *held, uint64_t *epoch);
//  Gives the lease up if `holder` holds it.
int norc_store_lease_release (norc_db_t *db, const char *name, uint64_t holder);

#endif
