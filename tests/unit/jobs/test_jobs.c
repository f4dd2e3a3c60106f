/* The job system end to end with the real `nadir run-job` children: runner files, the local pool,
 * dismissal, crashes, timeouts, restart recovery, the list with filters and paging. */
#include <signal.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nadir/jobs.h"
#include "test.h"

static json_t *J(const char *text) {
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    if (!o) ND_FAIL_AT("bad JSON in test: %s", e.text);
    return o;
}

static const char *path_in(const char *dir, const char *name) {
    static char bufs[4][1024];
    static int k;
    char *b = bufs[k++ % 4], tmp[sizeof bufs[0]];
    snprintf(tmp, sizeof tmp, "%s/%s", dir, name); /* dir may be an earlier result: no overlap */
    return memcpy(b, tmp, sizeof tmp);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static nd_jobs *start(int workers, int timeout_s) {
    nd_jobs_conf c = {.dir = path_in(nd_test_tmp_dir(), "jobs"), .exe = ND_BINARY_DIR "/nadir", .executor = "local",
                      .workers = workers, .timeout_s = timeout_s, .memory = 0, .threads = 1, .retention_s = 0};
    nd_jobs *j;
    char err[512];
    if (nd_jobs_start(&c, &j, err, sizeof err) < 0) ND_FAIL_AT("nd_jobs_start: %s", err);
    return j;
}

static void submit(nd_jobs *j, const char *process, const char *inputs, char id[ND_JOB_ID_LEN + 1]) {
    json_t *in = J(inputs);
    nd_error err = {0};
    if (nd_jobs_submit(j, process, "", in, NULL, id, &err) < 0) ND_FAIL_AT("submit: %s", err.detail);
    json_decref(in);
}

static nd_job_state state_of(nd_jobs *j, const char *id, char *msg, size_t n) {
    nd_job_info info;
    nd_error err = {0};
    CHECK_INT(nd_jobs_get(j, id, &info, &err), 0);
    if (msg) snprintf(msg, n, "%s", info.message);
    nd_job_state st = info.state;
    nd_job_info_clear(&info);
    return st;
}

static void wait_state(nd_jobs *j, const char *id, nd_job_state want) {
    for (int i = 0; i < 300; i++) {
        if (state_of(j, id, NULL, 0) == want) return;
        usleep(50000);
    }
    ND_FAIL_AT("job %s never reached state %s (is %s)", id, nd_job_state_name(want),
               nd_job_state_name(state_of(j, id, NULL, 0)));
}

static pid_t pid_of(const char *id) {
    sqlite3 *db;
    CHECK_INT(sqlite3_open(path_in(path_in(nd_test_tmp_dir(), "jobs"), "jobs.db"), &db), SQLITE_OK);
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT pid FROM jobs WHERE id = ?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    pid_t pid = (pid_t)sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return pid;
}

ND_TEST(runner_writes_outputs_and_status) {
    const char *dir = nd_test_tmp_dir();
    write_file(path_in(dir, "inputs.json"),
               "{\"process\":\"echo\",\"inputs\":{\"message\":\"ab\",\"repeat\":3,"
               "\"data\":{\"value\":{\"x\":1},\"mediaType\":\"application/json\"}}}");
    CHECK_INT(nd_job_run(dir), 0);
    json_t *out = json_load_file(path_in(dir, "outputs.json"), 0, NULL);
    CHECK(out != NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(out, "message"), "value")), "ababab");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(json_object_get(out, "data"), "value"), "x")), 1);
    json_decref(out);
    json_t *st = json_load_file(path_in(dir, "status.json"), 0, NULL);
    CHECK_STR(json_string_value(json_object_get(st, "state")), "successful");
    CHECK_INT(json_integer_value(json_object_get(st, "progress")), 100);
    json_decref(st);
}

ND_TEST(runner_refuses_bad_job_files) {
    const char *dir = nd_test_tmp_dir();
    CHECK(nd_job_run(dir) != 0); /* no inputs.json */
    json_t *st = json_load_file(path_in(dir, "status.json"), 0, NULL);
    CHECK_STR(json_string_value(json_object_get(st, "state")), "failed");
    CHECK_CONTAINS(json_string_value(json_object_get(st, "message")), "inputs.json");
    json_decref(st);
    write_file(path_in(dir, "inputs.json"), "{\"process\":\"no-such\",\"inputs\":{}}");
    CHECK(nd_job_run(dir) != 0);
    st = json_load_file(path_in(dir, "status.json"), 0, NULL);
    CHECK_CONTAINS(json_string_value(json_object_get(st, "message")), "process");
    json_decref(st);
}

ND_TEST(pool_runs_every_job) {
    nd_jobs *j = start(2, 60);
    char ids[6][ND_JOB_ID_LEN + 1];
    for (int i = 0; i < 6; i++) {
        char in[128];
        snprintf(in, sizeof in, "{\"message\":\"m%d\",\"repeat\":2}", i);
        submit(j, "echo", in, ids[i]);
        /* Registered before submit returns: visible at once. */
        CHECK(state_of(j, ids[i], NULL, 0) <= ND_JOB_SUCCESSFUL);
    }
    for (int i = 0; i < 6; i++) {
        CHECK_INT(nd_jobs_wait(j, ids[i], 20000), 0);
        CHECK_INT(state_of(j, ids[i], NULL, 0), ND_JOB_SUCCESSFUL);
        json_t *out;
        nd_error err = {0};
        CHECK_INT(nd_jobs_results(j, ids[i], &out, &err), 0);
        char want[16];
        snprintf(want, sizeof want, "m%dm%d", i, i);
        CHECK_STR(json_string_value(json_object_get(json_object_get(out, "message"), "value")), want);
        json_decref(out);
    }
    nd_jobs_stop(j);
}

ND_TEST(unknown_ids_and_results_not_ready) {
    nd_jobs *j = start(1, 60);
    nd_job_info info;
    nd_error err = {0};
    CHECK_INT(nd_jobs_get(j, "00000000-0000-4000-8000-000000000000", &info, &err), -ND_E_NO_SUCH_JOB);
    CHECK_INT(nd_jobs_get(j, "../../etc/passwd", &info, &err), -ND_E_NO_SUCH_JOB);
    CHECK(nd_jobs_file_path(j, "../x", "a") == NULL);
    char id[ND_JOB_ID_LEN + 1];
    submit(j, "sleep", "{\"seconds\":5}", id);
    json_t *out;
    CHECK_INT(nd_jobs_results(j, id, &out, &err), -ND_E_RESULT_NOT_READY);
    CHECK(nd_jobs_file_path(j, id, "../jobs.db") == NULL);
    CHECK_INT(nd_jobs_dismiss(j, id, &err), 0);
    nd_jobs_stop(j);
}

ND_TEST(dismiss_stops_a_running_job) {
    nd_jobs *j = start(1, 60);
    char id[ND_JOB_ID_LEN + 1];
    submit(j, "sleep", "{\"seconds\":30}", id);
    wait_state(j, id, ND_JOB_RUNNING);
    pid_t pid = pid_of(id);
    CHECK(pid > 0);
    nd_error err = {0};
    CHECK_INT(nd_jobs_dismiss(j, id, &err), 0);
    nd_job_info info;
    CHECK_INT(nd_jobs_get(j, id, &info, &err), -ND_E_NO_SUCH_JOB);
    struct stat sb;
    const char *dir = path_in(path_in(nd_test_tmp_dir(), "jobs"), id);
    for (int i = 0; i < 100 && stat(dir, &sb) == 0; i++) usleep(50000);
    CHECK(stat(dir, &sb) != 0);  /* results removed */
    CHECK(kill(pid, 0) != 0);    /* process gone */
    CHECK_INT(nd_jobs_dismiss(j, id, &err), -ND_E_NO_SUCH_JOB);
    nd_jobs_stop(j);
}

ND_TEST(killed_child_fails_only_its_job) {
    nd_jobs *j = start(2, 60);
    char a[ND_JOB_ID_LEN + 1], b[ND_JOB_ID_LEN + 1];
    submit(j, "sleep", "{\"seconds\":30}", a);
    submit(j, "sleep", "{\"seconds\":1}", b);
    wait_state(j, a, ND_JOB_RUNNING);
    CHECK_INT(kill(pid_of(a), SIGKILL), 0);
    wait_state(j, a, ND_JOB_FAILED);
    char msg[512];
    state_of(j, a, msg, sizeof msg);
    CHECK_CONTAINS(msg, "signal 9");
    CHECK_INT(nd_jobs_wait(j, b, 20000), 0);
    CHECK_INT(state_of(j, b, NULL, 0), ND_JOB_SUCCESSFUL);
    nd_jobs_stop(j);
}

ND_TEST(timeout_fails_the_job) {
    nd_jobs *j = start(1, 1);
    char id[ND_JOB_ID_LEN + 1];
    submit(j, "sleep", "{\"seconds\":20}", id);
    CHECK_INT(nd_jobs_wait(j, id, 15000), 0);
    char msg[512];
    CHECK_INT(state_of(j, id, msg, sizeof msg), ND_JOB_FAILED);
    CHECK_CONTAINS(msg, "time limit");
    nd_jobs_stop(j);
}

ND_TEST(restart_reattaches_and_requeues) {
    nd_jobs *j = start(1, 60);
    char run[ND_JOB_ID_LEN + 1], killed[ND_JOB_ID_LEN + 1], queued[ND_JOB_ID_LEN + 1];
    submit(j, "sleep", "{\"seconds\":1.5}", run);
    wait_state(j, run, ND_JOB_RUNNING);
    pid_t pid = pid_of(run);
    submit(j, "echo", "{\"message\":\"later\"}", queued);
    nd_jobs_stop(j); /* the child keeps running in its own session */
    CHECK_INT(kill(pid, 0), 0);
    j = start(1, 60);
    CHECK_INT(nd_jobs_wait(j, run, 20000), 0);
    CHECK_INT(state_of(j, run, NULL, 0), ND_JOB_SUCCESSFUL);
    CHECK_INT(nd_jobs_wait(j, queued, 20000), 0);
    CHECK_INT(state_of(j, queued, NULL, 0), ND_JOB_SUCCESSFUL);
    /* A job whose process died while no server watched: failed, with the reason. */
    submit(j, "sleep", "{\"seconds\":30}", killed);
    wait_state(j, killed, ND_JOB_RUNNING);
    pid = pid_of(killed);
    nd_jobs_stop(j);
    kill(-pid, SIGKILL);
    /* This test process was the child's parent: reap it, as init would for a real server's children,
     * or the zombie would look alive to the restarted job system. */
    for (int i = 0; i < 100 && kill(pid, 0) == 0; i++) {
        waitpid(pid, NULL, WNOHANG);
        usleep(20000);
    }
    j = start(1, 60);
    char msg[512];
    CHECK_INT(state_of(j, killed, msg, sizeof msg), ND_JOB_FAILED);
    CHECK_CONTAINS(msg, "restart");
    nd_jobs_stop(j);
}

ND_TEST(list_filters_and_pages) {
    nd_jobs *j = start(2, 60);
    char ids[5][ND_JOB_ID_LEN + 1];
    for (int i = 0; i < 5; i++) submit(j, i < 3 ? "echo" : "sleep", i < 3 ? "{\"message\":\"x\"}" : "{\"seconds\":0}", ids[i]);
    for (int i = 0; i < 5; i++) CHECK_INT(nd_jobs_wait(j, ids[i], 20000), 0);
    nd_job_info *items;
    size_t n, total;
    nd_error err = {0};
    CHECK_INT(nd_jobs_list(j, NULL, 0, NULL, 0, NULL, 0, 2, &items, &n, &total, &err), 0);
    CHECK_INT(n, 2);
    CHECK_INT(total, 5);
    CHECK_STR(items[0].id, ids[4]); /* newest first */
    for (size_t i = 0; i < n; i++) nd_job_info_clear(&items[i]);
    free(items);
    CHECK_INT(nd_jobs_list(j, NULL, 0, NULL, 0, NULL, 4, 2, &items, &n, &total, &err), 0);
    CHECK_INT(n, 1);
    CHECK_STR(items[0].id, ids[0]);
    nd_job_info_clear(&items[0]);
    free(items);
    const char *procs[] = {"sleep"};
    nd_job_state ok = ND_JOB_SUCCESSFUL;
    CHECK_INT(nd_jobs_list(j, &ok, 1, procs, 1, NULL, 0, 10, &items, &n, &total, &err), 0);
    CHECK_INT(total, 2);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(items[i].process, "sleep");
        nd_job_info_clear(&items[i]);
    }
    free(items);
    nd_job_state failed = ND_JOB_FAILED;
    CHECK_INT(nd_jobs_list(j, &failed, 1, NULL, 0, NULL, 0, 10, &items, &n, &total, &err), 0);
    CHECK_INT(total, 0);
    free(items);
    size_t counts[5];
    nd_jobs_counts(j, counts);
    CHECK_INT(counts[ND_JOB_SUCCESSFUL], 5);
    nd_jobs_stop(j);
}

ND_TEST(retention_removes_finished_jobs) {
    nd_jobs_conf c = {.dir = path_in(nd_test_tmp_dir(), "jobs"), .exe = ND_BINARY_DIR "/nadir", .executor = "local",
                      .workers = 1, .timeout_s = 60, .threads = 1, .retention_s = 1};
    nd_jobs *j;
    char err[512];
    CHECK_INT(nd_jobs_start(&c, &j, err, sizeof err), 0);
    char done[ND_JOB_ID_LEN + 1], running[ND_JOB_ID_LEN + 1];
    submit(j, "echo", "{\"message\":\"old\"}", done);
    CHECK_INT(nd_jobs_wait(j, done, 20000), 0);
    submit(j, "sleep", "{\"seconds\":30}", running);
    wait_state(j, running, ND_JOB_RUNNING);
    nd_jobs_stop(j);
    sleep(2);
    /* The first pass of a new start: the finished job and its files are gone, the running one stays. */
    CHECK_INT(nd_jobs_start(&c, &j, err, sizeof err), 0);
    nd_error e = {0};
    nd_job_info info;
    for (int i = 0; i < 50 && nd_jobs_get(j, done, &info, &e) == 0; i++) {
        nd_job_info_clear(&info);
        usleep(50000);
    }
    CHECK_INT(nd_jobs_get(j, done, &info, &e), -ND_E_NO_SUCH_JOB);
    struct stat sb;
    CHECK(stat(path_in(c.dir, done), &sb) != 0);
    CHECK_INT(state_of(j, running, NULL, 0), ND_JOB_RUNNING);
    CHECK_INT(nd_jobs_dismiss(j, running, &e), 0);
    nd_jobs_stop(j);
}

ND_TEST(children_get_memory_limit_and_threads) {
    nd_jobs_conf c = {.dir = path_in(nd_test_tmp_dir(), "jobs"), .exe = ND_BINARY_DIR "/nadir", .executor = "local",
                      .workers = 1, .timeout_s = 60, .memory = 512LL << 20, .threads = 3};
    nd_jobs *j;
    char err[512];
    CHECK_INT(nd_jobs_start(&c, &j, err, sizeof err), 0);
    char id[ND_JOB_ID_LEN + 1];
    submit(j, "sleep", "{\"seconds\":30}", id);
    wait_state(j, id, ND_JOB_RUNNING);
    pid_t pid = pid_of(id);
    char path[64], buf[8192];
    /* The fork may not have exec'd yet: wait for the child's own command line. */
    for (int i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        buf[n] = '\0';
        if (n && !strcmp(buf + strlen(buf) + 1, "run-job")) break;
        usleep(20000);
    }
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    bool omp = false, blas = false;
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
        omp |= !strcmp(buf + i, "OMP_NUM_THREADS=3");
        blas |= !strcmp(buf + i, "OPENBLAS_NUM_THREADS=3");
    }
    CHECK(omp && blas);
#if !defined(__SANITIZE_ADDRESS__) /* the executor leaves RLIMIT_AS off under ASan */
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    f = fopen(path, "r");
    CHECK(f != NULL);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    CHECK_CONTAINS(strstr(buf, "Max address space"), "536870912");
#endif
    nd_error e = {0};
    CHECK_INT(nd_jobs_dismiss(j, id, &e), 0);
    nd_jobs_stop(j);
}

ND_TEST(config_jobs_section) {
    nd_config *c;
    char err[512];
    const char *dflt = "server:\n  data_dir: /tmp/x\n";
    CHECK_INT(nd_config_parse(dflt, strlen(dflt), "t.yaml", "/tmp", &c, err, sizeof err), 0);
    CHECK_STR(c->jobs.executor, "local");
    CHECK_INT(c->jobs.workers, 2);
    CHECK_INT(c->jobs.timeout_s, 3600);
    CHECK_INT(c->jobs.memory_limit, 4LL << 30);
    CHECK_INT(c->jobs.threads, 1);
    CHECK(c->jobs.directory == NULL);
    CHECK_INT(c->jobs.retention_s, 604800);
    CHECK_INT(c->jobs.max_inline, 1 << 20);
    CHECK_INT(c->jobs.nallowed_hosts, 0);
    nd_config_free(c);
    const char *set = "jobs:\n  executor: slurm\n  workers: 8\n  memory_limit: 512MiB\n  directory: jobs\n"
                      "  slurm_partition: gpu\n  allowed_hosts: [a.example.org, b.example.org]\n";
    CHECK_INT(nd_config_parse(set, strlen(set), "t.yaml", "/srv/conf", &c, err, sizeof err), 0);
    CHECK_STR(c->jobs.executor, "slurm");
    CHECK_INT(c->jobs.workers, 8);
    CHECK_INT(c->jobs.memory_limit, 512LL << 20);
    CHECK_STR(c->jobs.directory, "/srv/conf/jobs"); /* relative to the configuration */
    CHECK_STR(c->jobs.slurm_partition, "gpu");
    CHECK_INT(c->jobs.nallowed_hosts, 2);
    CHECK_STR(c->jobs.allowed_hosts[1], "b.example.org");
    nd_config_free(c);
    const char *bad = "jobs:\n  executor: kubernetes\n";
    CHECK(nd_config_parse(bad, strlen(bad), "t.yaml", "/tmp", &c, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "t.yaml:2:");
    CHECK_CONTAINS(err, "local or slurm");
    const char *zero = "jobs:\n  workers: 0\n";
    CHECK(nd_config_parse(zero, strlen(zero), "t.yaml", "/tmp", &c, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "workers");
}

ND_TEST(owner_stored_filtered_and_counted) {
    nd_jobs *j = start(1, 60);
    char a[ND_JOB_ID_LEN + 1], b[ND_JOB_ID_LEN + 1], c[ND_JOB_ID_LEN + 1];
    nd_error err = {0};
    json_t *in = J("{\"seconds\":5}");
    CHECK_INT(nd_jobs_submit(j, "sleep", "ana", in, NULL, a, &err), 0);
    CHECK_INT(nd_jobs_submit(j, "sleep", "ana", in, NULL, b, &err), 0);
    CHECK_INT(nd_jobs_submit(j, "sleep", "bob", in, NULL, c, &err), 0);
    json_decref(in);
    CHECK_INT(nd_jobs_active(j, "ana"), 2); /* one running, one waiting for the only worker */
    CHECK_INT(nd_jobs_active(j, "bob"), 1);
    CHECK_INT(nd_jobs_active(j, ""), 0);
    nd_job_info info;
    CHECK_INT(nd_jobs_get(j, c, &info, &err), 0);
    CHECK_STR(info.owner, "bob");
    nd_job_info_clear(&info);
    nd_job_info *items;
    size_t n, total;
    CHECK_INT(nd_jobs_list(j, NULL, 0, NULL, 0, "bob", 0, 10, &items, &n, &total, &err), 0);
    CHECK_INT(total, 1);
    CHECK_STR(items[0].id, c);
    nd_job_info_clear(&items[0]);
    free(items);
    CHECK_INT(nd_jobs_dismiss(j, a, &err), 0);
    CHECK_INT(nd_jobs_active(j, "ana"), 1);
    nd_jobs_dismiss(j, b, &err);
    nd_jobs_dismiss(j, c, &err);
    nd_jobs_stop(j);
}
