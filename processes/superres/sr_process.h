/* The `super-resolution` process, listed in the registry. */
#ifndef ND_SR_PROCESS_H
#define ND_SR_PROCESS_H

#include "nadir/process.h"

extern const nd_process nd_process_superres;

#endif
