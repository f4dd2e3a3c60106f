/* `sleep`: waits, reporting progress ten times a second; for progress, cancellation and timeout tests. */
#include <time.h>

#include "builtin.h"

static const char *const cpu[] = {"cpu", NULL};

static const nd_io inputs[] = {
    {.id = "seconds", .title = "Seconds", .description = "How long to sleep.", .type = ND_IO_NUMBER, .def = "1",
     .has_min = true, .min = 0, .has_max = true, .max = 3600, .uom = "s", .max_occurs = 1},
};

static const nd_io outputs[] = {
    {.id = "slept", .title = "Seconds slept", .description = "The time asked for.", .type = ND_IO_NUMBER,
     .uom = "s"},
};

static int run(nd_kernel_env *env, const json_t *in, json_t *out, nd_error *err) {
    double secs = json_number_value(json_object_get(in, "seconds"));
    long steps = (long)(secs * 10 + 0.5);
    for (long i = 0; i < steps; i++) {
        if (env->progress && env->progress(env, (int)(100 * i / steps), "sleeping"))
            return nd_fail(err, ND_E_UNAVAILABLE, "", "stopped");
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    json_object_set_new(out, "slept", json_pack("{s:f}", "value", secs));
    return 0;
}

const nd_process nd_process_sleep = {
    .id = "sleep",
    .title = "Sleep",
    .description = "Sleeps for the given number of seconds, reporting its progress.",
    .version = "1.0.0",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .outputs = outputs,
    .noutputs = sizeof outputs / sizeof outputs[0],
    .sync = true,
    .async = true,
    .devices = cpu,
    .run = run,
};
