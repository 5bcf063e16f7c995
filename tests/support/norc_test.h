//  norc_test.h - helpers for the test suites.
#ifndef NORC_TEST_H_INCLUDED
#define NORC_TEST_H_INCLUDED
#include "norc.h"

#endif
