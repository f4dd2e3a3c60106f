/* The local executor: each job is a child process `nadir run-job DIR` in its own session (so a
 * crash, a kill or a restart of the server never mixes the two), with a memory limit, a thread
 * count for the numeric libraries, and its output in DIR/log.txt. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobs_internal.h"

extern char **environ;

#define MAX_ENV 512

/* The environment of a job: ours, with the thread variables replaced (built before fork: the child
 * may only call async-signal-safe functions). */
static char **job_env(const nd_jobs *j, char storage[][48]) {
    static const char *const vars[] = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                       "GDAL_NUM_THREADS", NULL};
    size_t n = 0;
    char **env = nd_xcalloc(MAX_ENV + 8, sizeof *env);
    for (char **e = environ; *e && n < MAX_ENV; e++) {
        bool ours = false;
        for (int k = 0; vars[k] && !ours; k++) {
            size_t l = strlen(vars[k]);
            ours = strncmp(*e, vars[k], l) == 0 && (*e)[l] == '=';
        }
        if (!ours) env[n++] = *e;
    }
    for (int k = 0; vars[k]; k++) {
        snprintf(storage[k], 48, "%s=%d", vars[k], j->conf.threads > 0 ? j->conf.threads : 1);
        env[n++] = storage[k];
    }
    env[n] = NULL;
    return env;
}

int nd_local_launch(nd_jobs *j, const char *id, nd_running *r, char *msg, size_t msglen) {
    char *dir = nd_job_dir(j, id);
    char log[4200];
    snprintf(log, sizeof log, "%s/log.txt", dir);
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        snprintf(msg, msglen, "the job directory is not writable");
        free(dir);
        return -1;
    }
    char storage[8][48];
    char **env = job_env(j, storage);
    char *argv[] = {(char *)j->conf.exe, "run-job", dir, NULL};
    struct rlimit mem = {(rlim_t)j->conf.memory, (rlim_t)j->conf.memory};
    bool limit_mem = j->conf.memory > 0;
#if defined(__SANITIZE_ADDRESS__)
    limit_mem = false; /* AddressSanitizer reserves terabytes of address space: RLIMIT_AS would stop it */
#endif
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        if (limit_mem) setrlimit(RLIMIT_AS, &mem);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        execve(argv[0], argv, env);
        _exit(127);
    }
    int saved = errno;
    close(logfd);
    free(env);
    free(dir);
    if (pid < 0) {
        snprintf(msg, msglen, "the job could not be started (%s)", strerror(saved));
        return -1;
    }
    r->pid = pid;
    r->own_child = true;
    return 0;
}

/* True while pid is a live (not zombie) process running run-job for this job's directory. */
static bool alive_for(const nd_jobs *j, const char *id, pid_t pid) {
    if (pid <= 0 || kill(pid, 0) != 0) return false;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    if (!rp || rp[1] != ' ' || rp[2] == 'Z') return false;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    f = fopen(path, "r");
    if (!f) return false;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* argv is NUL-separated: the directory is the third argument, ending in the id. */
    for (size_t i = 0; i + 1 < n; i++)
        if (buf[i] == '\0' && strstr(buf + i + 1, id)) return true;
    return false;
}

bool nd_local_reattach(nd_jobs *j, const char *id, pid_t pid) { return alive_for(j, id, pid); }

int nd_local_poll(nd_jobs *j, nd_running *r, int *status) {
    if (r->own_child) {
        int ws;
        pid_t w = waitpid(r->pid, &ws, WNOHANG);
        if (w == r->pid) {
            *status = ws;
            return 1;
        }
        if (w < 0 && errno == ECHILD) {
            *status = -1;
            return 1;
        }
        return 0;
    }
    if (alive_for(j, r->id, r->pid)) return 0;
    *status = -1;
    return 1;
}

void nd_local_kill(nd_jobs *j, nd_running *r) {
    if (r->pid > 0) {
        kill(-r->pid, SIGKILL); /* the whole session: the kernel may have children of its own */
        kill(r->pid, SIGKILL);
    }
}
