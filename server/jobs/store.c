/* The job index in SQLite (WAL, bound parameters only): one row per job, written before a job is
 * announced to anyone, so a crash never loses an accepted job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs_internal.h"

/* synchronous=FULL: the 201 that follows an insert promises the job, and with NORMAL a power cut may take
 * back the last commits of the WAL (a killed process never does). Job rows are few, small writes. */
static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS jobs("
    " id TEXT PRIMARY KEY, process TEXT NOT NULL, state INTEGER NOT NULL, progress INTEGER NOT NULL DEFAULT 0,"
    " message TEXT NOT NULL DEFAULT '', created REAL NOT NULL, started REAL NOT NULL DEFAULT 0,"
    " finished REAL NOT NULL DEFAULT 0, updated REAL NOT NULL, pid INTEGER NOT NULL DEFAULT 0,"
    " slurm_id TEXT NOT NULL DEFAULT '', request TEXT, owner TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created);"
    "CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created);";

/* Indexes written before jobs had owners get the column (their jobs belong to anonymous callers). */
static void add_owner_column(sqlite3 *db) {
    sqlite3_stmt *st = NULL;
    bool has = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('jobs') WHERE name = 'owner'", -1, &st, NULL) == SQLITE_OK)
        has = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!has) sqlite3_exec(db, "ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT ''", NULL, NULL, NULL);
    sqlite3_exec(db, "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, state)", NULL, NULL, NULL);
}

int nd_store_open(nd_jobs *j, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/jobs.db", j->conf.dir);
    if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open the job index %s: %s", path, j->db ? sqlite3_errmsg(j->db) : "no memory");
        sqlite3_close(j->db);
        j->db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(j->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(j->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot create the job index %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(j->db);
        j->db = NULL;
        return -1;
    }
    add_owner_column(j->db);
    return 0;
}

void nd_store_close(nd_jobs *j) {
    if (j->db) sqlite3_close(j->db);
    j->db = NULL;
}

static sqlite3_stmt *prep(nd_jobs *j, const char *sql) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
    return st;
}

/* Runs a statement without rows; 0 on success. */
static int done(sqlite3_stmt *st) {
    if (!st) return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int nd_store_insert(nd_jobs *j, const char *id, const char *process, const char *owner, const char *request,
                    double now) {
    sqlite3_stmt *st = prep(j, "INSERT INTO jobs(id, process, state, created, updated, request, message, owner)"
                               " VALUES(?, ?, 0, ?, ?, ?, 'accepted', ?)");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, process, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, now);
    sqlite3_bind_double(st, 4, now);
    if (request) sqlite3_bind_text(st, 5, request, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, owner ? owner : "", -1, SQLITE_STATIC);
    return done(st);
}

#define COLS "id, process, state, progress, message, created, started, finished, updated, request, owner"

static void row_info(sqlite3_stmt *st, nd_job_info *o) {
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(o->process, sizeof o->process, "%s", (const char *)sqlite3_column_text(st, 1));
    o->state = (nd_job_state)sqlite3_column_int(st, 2);
    o->progress = sqlite3_column_int(st, 3);
    const unsigned char *m = sqlite3_column_text(st, 4);
    snprintf(o->message, sizeof o->message, "%s", m ? (const char *)m : "");
    o->created = sqlite3_column_double(st, 5);
    o->started = sqlite3_column_double(st, 6);
    o->finished = sqlite3_column_double(st, 7);
    o->updated = sqlite3_column_double(st, 8);
    const unsigned char *r = sqlite3_column_text(st, 9);
    o->request = r ? nd_xstrdup((const char *)r) : NULL;
    const unsigned char *w = sqlite3_column_text(st, 10);
    snprintf(o->owner, sizeof o->owner, "%s", w ? (const char *)w : "");
}

int nd_store_get(nd_jobs *j, const char *id, nd_job_info *out) {
    sqlite3_stmt *st = prep(j, "SELECT " COLS " FROM jobs WHERE id = ?");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW;
    if (found) row_info(st, out);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int nd_store_set_state(nd_jobs *j, const char *id, nd_job_state state, int progress, const char *message,
                       double now) {
    bool final = state == ND_JOB_SUCCESSFUL || state == ND_JOB_FAILED || state == ND_JOB_DISMISSED;
    sqlite3_stmt *st = prep(j, "UPDATE jobs SET state = ?, progress = ?, message = ?, updated = ?,"
                               " finished = CASE WHEN ? THEN ? ELSE finished END WHERE id = ?");
    if (!st) return -1;
    sqlite3_bind_int(st, 1, (int)state);
    sqlite3_bind_int(st, 2, progress);
    sqlite3_bind_text(st, 3, message ? message : "", -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, now);
    sqlite3_bind_int(st, 5, final);
    sqlite3_bind_double(st, 6, now);
    sqlite3_bind_text(st, 7, id, -1, SQLITE_STATIC);
    return done(st);
}

int nd_store_set_started(nd_jobs *j, const char *id, pid_t pid, const char *slurm_id, double now) {
    sqlite3_stmt *st = prep(j, "UPDATE jobs SET state = 1, started = ?, updated = ?, pid = ?, slurm_id = ?,"
                               " message = 'running' WHERE id = ?");
    if (!st) return -1;
    sqlite3_bind_double(st, 1, now);
    sqlite3_bind_double(st, 2, now);
    sqlite3_bind_int(st, 3, (int)pid);
    sqlite3_bind_text(st, 4, slurm_id ? slurm_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, id, -1, SQLITE_STATIC);
    return done(st);
}

int nd_store_set_progress(nd_jobs *j, const char *id, int progress, const char *message, double now) {
    sqlite3_stmt *st = prep(j, "UPDATE jobs SET progress = ?, message = ?, updated = ? WHERE id = ? AND state = 1");
    if (!st) return -1;
    sqlite3_bind_int(st, 1, progress);
    sqlite3_bind_text(st, 2, message ? message : "", -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, now);
    sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
    return done(st);
}

int nd_store_delete(nd_jobs *j, const char *id) {
    sqlite3_stmt *st = prep(j, "DELETE FROM jobs WHERE id = ?");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return done(st);
}

int nd_store_next_queued(nd_jobs *j, char id[ND_JOB_ID_LEN + 1]) {
    sqlite3_stmt *st = prep(j, "SELECT id FROM jobs WHERE state = 0 ORDER BY created, rowid LIMIT 1");
    if (!st) return -1;
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) snprintf(id, ND_JOB_ID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return found;
}

int nd_store_running(nd_jobs *j, nd_store_row **rows, size_t *n) {
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st = prep(j, "SELECT id, pid, slurm_id, started FROM jobs WHERE state = 1");
    if (!st) return -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        *rows = nd_xrealloc(*rows, (*n + 1) * sizeof **rows);
        nd_store_row *r = &(*rows)[(*n)++];
        snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(st, 0));
        r->pid = (pid_t)sqlite3_column_int(st, 1);
        snprintf(r->slurm_id, sizeof r->slurm_id, "%s", (const char *)sqlite3_column_text(st, 2));
        r->started = sqlite3_column_double(st, 3);
    }
    sqlite3_finalize(st);
    return 0;
}

int nd_store_expired(nd_jobs *j, double before, char (**ids)[ND_JOB_ID_LEN + 1], size_t *n) {
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st = prep(j, "SELECT id FROM jobs WHERE state >= 2 AND updated < ? LIMIT 1000");
    if (!st) return -1;
    sqlite3_bind_double(st, 1, before);
    while (sqlite3_step(st) == SQLITE_ROW) {
        *ids = nd_xrealloc(*ids, (*n + 1) * sizeof **ids);
        snprintf((*ids)[(*n)++], ND_JOB_ID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return 0;
}

/* WHERE clause with one placeholder per filter value; the values are bound, never spliced. */
static void where(nd_buf *b, size_t nstates, size_t nprocesses, const char *owner) {
    nd_buf_puts(b, " WHERE state <> 4");
    if (owner) nd_buf_puts(b, " AND owner = ?");
    if (nstates) {
        nd_buf_puts(b, " AND state IN (");
        for (size_t i = 0; i < nstates; i++) nd_buf_puts(b, i ? ",?" : "?");
        nd_buf_puts(b, ")");
    }
    if (nprocesses) {
        nd_buf_puts(b, " AND process IN (");
        for (size_t i = 0; i < nprocesses; i++) nd_buf_puts(b, i ? ",?" : "?");
        nd_buf_puts(b, ")");
    }
}

static int bind_filters(sqlite3_stmt *st, const nd_job_state *states, size_t nstates, const char *const *processes,
                        size_t nprocesses, const char *owner) {
    int k = 1;
    if (owner) sqlite3_bind_text(st, k++, owner, -1, SQLITE_STATIC);
    for (size_t i = 0; i < nstates; i++) sqlite3_bind_int(st, k++, (int)states[i]);
    for (size_t i = 0; i < nprocesses; i++) sqlite3_bind_text(st, k++, processes[i], -1, SQLITE_STATIC);
    return k;
}

int nd_store_list(nd_jobs *j, const nd_job_state *states, size_t nstates, const char *const *processes,
                  size_t nprocesses, const char *owner, size_t offset, size_t limit, nd_job_info **out, size_t *n,
                  size_t *total) {
    *out = NULL;
    *n = *total = 0;
    nd_buf b = {0};
    nd_buf_puts(&b, "SELECT count(*) FROM jobs");
    where(&b, nstates, nprocesses, owner);
    sqlite3_stmt *st = prep(j, b.data);
    if (!st) {
        nd_buf_free(&b);
        return -1;
    }
    bind_filters(st, states, nstates, processes, nprocesses, owner);
    if (sqlite3_step(st) == SQLITE_ROW) *total = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    nd_buf_reset(&b);
    nd_buf_puts(&b, "SELECT " COLS " FROM jobs");
    where(&b, nstates, nprocesses, owner);
    nd_buf_puts(&b, " ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?");
    st = prep(j, b.data);
    nd_buf_free(&b);
    if (!st) return -1;
    int k = bind_filters(st, states, nstates, processes, nprocesses, owner);
    sqlite3_bind_int64(st, k, (sqlite3_int64)limit);
    sqlite3_bind_int64(st, k + 1, (sqlite3_int64)offset);
    while (sqlite3_step(st) == SQLITE_ROW) {
        *out = nd_xrealloc(*out, (*n + 1) * sizeof **out);
        row_info(st, &(*out)[(*n)++]);
    }
    sqlite3_finalize(st);
    return 0;
}

size_t nd_store_active(nd_jobs *j, const char *owner) {
    sqlite3_stmt *st = prep(j, "SELECT count(*) FROM jobs WHERE owner = ? AND state IN (0, 1)");
    if (!st) return 0;
    sqlite3_bind_text(st, 1, owner ? owner : "", -1, SQLITE_STATIC);
    size_t n = sqlite3_step(st) == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return n;
}

void nd_store_counts(nd_jobs *j, size_t counts[5]) {
    memset(counts, 0, 5 * sizeof *counts);
    sqlite3_stmt *st = prep(j, "SELECT state, count(*) FROM jobs GROUP BY state");
    if (!st) return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int s = sqlite3_column_int(st, 0);
        if (s >= 0 && s < 5) counts[s] = (size_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
}
