/* The built-in processes that prove the machinery; registry.c lists them. */
#ifndef NADIR_PROCESSES_BUILTIN_H
#define NADIR_PROCESSES_BUILTIN_H

#include "nadir/arena.h"
#include "nadir/process.h"

extern const nd_process nd_process_echo;
extern const nd_process nd_process_sleep;
extern const nd_process nd_process_statistics;
extern const nd_process nd_process_subset;

#endif
