/* The YAML configuration: libyaml events into the schema tables, ${VAR} substitution, limits and messages. */
#include "fuzz.h"
#include "nadir/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nd_config *cfg = NULL;
    char err[512];
    if (nd_config_parse((const char *)data, size, "fuzz.yaml", "/nonexistent", &cfg, err, sizeof err) == 0)
        nd_config_free(cfg);
    else if (!err[0]) /* a refusal always says why */
        abort();
    return 0;
}
