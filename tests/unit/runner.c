/* Runs the registered unit tests, each in a forked child with a timeout, and prints a summary. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define MAX_TESTS 2048
#define TIMEOUT_S 120

typedef struct {
    char module[64];
    const char *name;
    nd_test_fn fn;
} test_entry;

static test_entry tests[MAX_TESTS];
static int ntests;
static char tmp_dir[256];

void nd_test_register(const char *file, const char *name, nd_test_fn fn) {
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        abort();
    }
    /* module = file stem without "test_": tests/unit/core/test_arena.c -> arena */
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (strncmp(base, "test_", 5) == 0) base += 5;
    test_entry *t = &tests[ntests++];
    snprintf(t->module, sizeof t->module, "%.*s", (int)strcspn(base, "."), base);
    t->name = name;
    t->fn = fn;
}

const char *nd_test_data_dir(void) { return ND_TEST_DATA; }
const char *nd_test_tmp_dir(void) { return tmp_dir; }

static int run_one(const test_entry *t) {
    snprintf(tmp_dir, sizeof tmp_dir, "%s/unit-tmp/%s.%s.%d", ND_BINARY_DIR, t->module, t->name, (int)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", tmp_dir);
    if (system(cmd) != 0) return 1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        alarm(TIMEOUT_S);
        t->fn();
        exit(0); /* not _exit: LeakSanitizer checks at exit */
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) {}
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (WIFSIGNALED(status))
        fprintf(stderr, "  killed by signal %d%s\n", WTERMSIG(status),
                WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
    return 1;
}

int main(int argc, char **argv) {
    int passed = 0, failed = 0;
    for (int i = 0; i < ntests; i++) {
        const test_entry *t = &tests[i];
        if (argc > 1) {
            int match = 0;
            for (int a = 1; a < argc; a++) {
                char full[256];
                snprintf(full, sizeof full, "%s.%s", t->module, t->name);
                if (strcmp(argv[a], t->module) == 0 || strcmp(argv[a], full) == 0) match = 1;
            }
            if (!match) continue;
        }
        int rc = run_one(t);
        printf("%s %s.%s\n", rc ? "FAIL" : "ok  ", t->module, t->name);
        if (rc) failed++; else passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    if (passed + failed == 0) {
        fprintf(stderr, "no test matched\n");
        return 1;
    }
    return failed ? 1 : 0;
}
