/* `echo`: returns its inputs, so every input kind and every transmission mode can be tested, and the
 * CITE suites' echo checks run against it: a literal, a complex and a bounding box input and output,
 * all optional; string inputs take any text (ets-ogcapi-processes10 sends "teststring" to each), and
 * the last literal input is the message (ets-wps20 picks the last one). */
#include <string.h>

#include "builtin.h"

static const char *const data_formats[] = {"application/json", "text/plain", "text/xml", "application/xml", NULL};
static const char *const cpu[] = {"cpu", NULL};

static const nd_io inputs[] = {
    {.id = "repeat", .title = "Repetitions", .description = "How many times the message is repeated.",
     .type = ND_IO_INTEGER, .def = "1", .has_min = true, .min = 1, .has_max = true, .max = 10, .max_occurs = 1},
    {.id = "message", .title = "Message", .description = "Text returned as the output 'message'.",
     .type = ND_IO_STRING, .def = "", .max_occurs = 1},
    {.id = "data", .title = "Data", .description = "A JSON, text or XML document returned as the output 'data'.",
     .type = ND_IO_COMPLEX, .formats = data_formats, .max_bytes = 64 << 10, .max_occurs = 1},
    {.id = "box", .title = "Bounding box", .description = "A bounding box returned as the output 'box'.",
     .type = ND_IO_BBOX, .max_occurs = 1},
};

static const nd_io outputs[] = {
    {.id = "message", .title = "Message", .description = "The message, repeated.", .type = ND_IO_STRING},
    {.id = "data", .title = "Data", .description = "The data input as it came.", .type = ND_IO_COMPLEX,
     .formats = data_formats},
    {.id = "box", .title = "Bounding box", .description = "The box input as it came.", .type = ND_IO_BBOX},
};

static int run(nd_kernel_env *env, const json_t *in, json_t *out, nd_error *err) {
    const char *msg = json_string_value(json_object_get(in, "message"));
    long long n = json_integer_value(json_object_get(in, "repeat"));
    size_t len = strlen(msg);
    char *text = nd_xmalloc(len * (size_t)n + 1);
    for (long long i = 0; i < n; i++) memcpy(text + len * (size_t)i, msg, len);
    text[len * (size_t)n] = '\0';
    json_object_set_new(out, "message", json_pack("{s:s}", "value", text));
    free(text);
    json_t *data = json_object_get(in, "data");
    if (data) json_object_set(out, "data", data);
    json_t *box = json_object_get(in, "box");
    if (box) json_object_set_new(out, "box", json_pack("{s:O}", "value", box));
    if (env->progress) env->progress(env, 100, "done");
    return 0;
}

const nd_process nd_process_echo = {
    .id = "echo",
    .title = "Echo",
    .description = "Returns the message (repeated), the data and the bounding box given.",
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
