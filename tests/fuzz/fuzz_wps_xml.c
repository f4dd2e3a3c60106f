/* WPS XML POST bodies (Execute 1.0.0 and 2.0, and every other operation's document) through the real
 * handler: DOCTYPE refusal, libxml2 parsing, request building and input validation. */
#include "fuzz.h"

static void (*const services[])(nd_app *) = {nd_wps_register};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = fuzz_cstr(data, size);
    nd_app *app = fuzz_app(services, 1);
    /* 503: an Execute that parsed and validated reaches the job system, which is off here. */
    fuzz_dispatch(app, "POST", "/wps", body, 503);
    free(body);
    return 0;
}
