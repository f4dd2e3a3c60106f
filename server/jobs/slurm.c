/* The Slurm executor: each job is an sbatch script that runs `nadir run-job DIR` on shared storage
 * and leaves its exit status in DIR/exit_code (no accounting database needed); the executor polls
 * squeue at most once a second per job and scancels on dismissal or timeout. Commands are spawned
 * with argument vectors, never through a shell. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobs_internal.h"
#include "nadir/process.h"

extern char **environ;

#define CMD_TIMEOUT_MS 30000
#define POLL_EVERY_S 1.0

/* Runs argv (looked up in PATH), returns its exit status (or -1) with stdout in out. */
static int run_cmd(char *const argv[], char *out, size_t outlen) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    size_t len = 0;
    double start = nd_now();
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int left = CMD_TIMEOUT_MS - (int)((nd_now() - start) * 1000);
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        char buf[512];
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n && len + 1 < outlen; i++) out[len++] = buf[i];
    }
    out[len] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r')) s[--n] = '\0';
}

int nd_slurm_launch(nd_jobs *j, const char *id, nd_running *r, char *msg, size_t msglen) {
    char *dir = nd_job_dir(j, id);
    /* The script quotes paths in single quotes: paths holding one are refused (they come from the
     * configuration, never from a request). */
    if (strchr(dir, '\'') || strchr(j->conf.exe, '\'')) {
        snprintf(msg, msglen, "the job directory or executable path holds a quote");
        free(dir);
        return -1;
    }
    int threads = j->conf.threads > 0 ? j->conf.threads : 1;
    nd_buf script = {0};
    nd_buf_printf(&script,
                  "#!/bin/sh\n"
                  "export OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d MKL_NUM_THREADS=%d GDAL_NUM_THREADS=%d\n"
                  "'%s' run-job '%s'\n"
                  "echo $? > '%s/exit_code.tmp' && mv '%s/exit_code.tmp' '%s/exit_code'\n",
                  threads, threads, threads, threads, j->conf.exe, dir, dir, dir, dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/job.sh", dir);
    int rc = nd_write_atomic(path, script.data, script.len);
    nd_buf_free(&script);
    if (rc != 0) {
        snprintf(msg, msglen, "the job script could not be written");
        free(dir);
        return -1;
    }
    char name[32], output[4200], chdir_opt[4200], time_opt[32], mem_opt[48], cpus[32], part[160], acct[160];
    snprintf(name, sizeof name, "--job-name=nadir-%.8s", id);
    snprintf(output, sizeof output, "--output=%s/slurm.out", dir);
    snprintf(chdir_opt, sizeof chdir_opt, "--chdir=%s", dir);
    snprintf(cpus, sizeof cpus, "--cpus-per-task=%d", threads);
    char *argv[16];
    int k = 0;
    argv[k++] = "sbatch";
    argv[k++] = "--parsable";
    argv[k++] = name;
    argv[k++] = output;
    argv[k++] = chdir_opt;
    argv[k++] = cpus;
    if (j->conf.timeout_s > 0) {
        /* Slurm's own limit a little past ours, so our timeout (with its message) comes first. */
        snprintf(time_opt, sizeof time_opt, "--time=%d", j->conf.timeout_s / 60 + 2);
        argv[k++] = time_opt;
    }
    if (j->conf.memory > 0) {
        snprintf(mem_opt, sizeof mem_opt, "--mem=%lldM", (j->conf.memory + (1 << 20) - 1) >> 20);
        argv[k++] = mem_opt;
    }
    if (j->conf.partition) {
        snprintf(part, sizeof part, "--partition=%s", j->conf.partition);
        argv[k++] = part;
    }
    if (j->conf.account) {
        snprintf(acct, sizeof acct, "--account=%s", j->conf.account);
        argv[k++] = acct;
    }
    /* A process that runs on GPUs only asks Slurm for one. */
    char inputs[4200];
    snprintf(inputs, sizeof inputs, "%s/inputs.json", dir);
    json_t *doc = nd_read_json(inputs);
    const nd_process *p = nd_process_find(json_string_value(json_object_get(doc, "process")));
    bool cpu = false, cuda = false;
    for (const char *const *d = p ? p->devices : NULL; d && *d; d++) {
        cpu |= !strcmp(*d, "cpu");
        cuda |= !strcmp(*d, "cuda");
    }
    json_decref(doc);
    if (cuda && !cpu) argv[k++] = "--gres=gpu:1";
    argv[k++] = path;
    argv[k] = NULL;
    char out[256];
    rc = run_cmd(argv, out, sizeof out);
    trim(out);
    free(dir);
    /* --parsable prints "jobid" or "jobid;cluster". */
    out[strcspn(out, ";")] = '\0';
    if (rc != 0 || !*out || strspn(out, "0123456789_") != strlen(out) || strlen(out) >= sizeof r->slurm_id) {
        snprintf(msg, msglen, "sbatch refused the job");
        return -1;
    }
    snprintf(r->slurm_id, sizeof r->slurm_id, "%s", out);
    r->pid = 0;
    r->own_child = false;
    return 0;
}

void nd_slurm_refresh(nd_jobs *j) {
    double now = nd_now();
    if (!j->running || now - j->last_squeue < POLL_EVERY_S) return;
    j->last_squeue = now;
    nd_buf ids = {0};
    for (nd_running *r = j->running; r; r = r->next)
        if (r->slurm_id[0]) nd_buf_printf(&ids, "%s%s", ids.len ? "," : "", r->slurm_id);
    if (!ids.len) {
        nd_buf_free(&ids);
        return;
    }
    static char out[1 << 20]; /* only the executor thread polls */
    char *argv[] = {"squeue", "-h", "-o", "%i %T", "-j", ids.data, NULL};
    int rc = run_cmd(argv, out, sizeof out);
    nd_buf_free(&ids);
    if (rc == -1) return; /* squeue cannot run: nothing is concluded */
    for (nd_running *r = j->running; r; r = r->next) {
        r->slurm_state[0] = '\0';
        size_t idlen = strlen(r->slurm_id);
        if (rc != 0) {
            /* squeue refuses the whole list when an id was purged from the controller (a job that ended
             * long ago, seen after a restart): ask about each job alone, which tells which ones left. */
            char one[256];
            char *argv1[] = {"squeue", "-h", "-o", "%T", "-j", r->slurm_id, NULL};
            int rc1 = run_cmd(argv1, one, sizeof one);
            if (rc1 == -1) continue;
            one[strcspn(one, "\n")] = '\0';
            if (rc1 == 0) snprintf(r->slurm_state, sizeof r->slurm_state, "%s", one);
            r->polled = true;
            r->last_poll = now;
            continue;
        }
        for (const char *line = out; *line;) {
            size_t n = strcspn(line, "\n");
            if (n > idlen && !strncmp(line, r->slurm_id, idlen) && line[idlen] == ' ')
                snprintf(r->slurm_state, sizeof r->slurm_state, "%.*s", (int)(n - idlen - 1), line + idlen + 1);
            line += n + (line[n] == '\n');
        }
        r->polled = true;
        r->last_poll = now;
    }
}

static bool finished_state(const char *state) {
    static const char *const done[] = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                                       "PREEMPTED", "BOOT_FAIL", "DEADLINE", NULL};
    if (!*state) return true;
    for (int i = 0; done[i]; i++)
        if (!strcmp(state, done[i])) return true;
    return false;
}

int nd_slurm_poll(nd_jobs *j, nd_running *r, int *status) {
    if (!r->polled) return 0;
    r->polled = false;
    if (!finished_state(r->slurm_state)) return 0;
    char *dir = nd_job_dir(j, r->id);
    char path[4200];
    snprintf(path, sizeof path, "%s/exit_code", dir);
    free(dir);
    FILE *f = fopen(path, "r");
    int code = -1;
    if (f) {
        if (fscanf(f, "%d", &code) != 1) code = -1;
        fclose(f);
    }
    /* A wait status as waitpid would give it; -1 when the script never finished (cancelled, node lost). */
    *status = code >= 0 && code < 128 ? code << 8 : code >= 128 ? (code - 128) & 0x7f : -1;
    return 1;
}

void nd_slurm_kill(nd_jobs *j, nd_running *r) {
    if (!r->slurm_id[0]) return;
    char out[256];
    char *argv[] = {"scancel", r->slurm_id, NULL};
    run_cmd(argv, out, sizeof out);
    j->last_squeue = 0; /* look again at the next tick */
}
