//  norc_test.c - helpers for the test suites.
#include "norc_test.h"
