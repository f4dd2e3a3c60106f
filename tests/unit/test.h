/* The unit-test harness: ND_TEST registers a test; the runner forks each one with a timeout. */
#ifndef NADIR_TEST_H
#define NADIR_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*nd_test_fn)(void);
void nd_test_register(const char *file, const char *name, nd_test_fn fn);
/* Directory of tests/data and of a scratch directory unique to this test run. */
const char *nd_test_data_dir(void);
const char *nd_test_tmp_dir(void);

#define ND_TEST(name)                                                          \
    static void test_##name(void);                                             \
    __attribute__((constructor)) static void register_##name(void) {           \
        nd_test_register(__FILE__, #name, test_##name);                        \
    }                                                                          \
    static void test_##name(void)

#define ND_FAIL_AT(...)                                                        \
    do {                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                        \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        exit(1);                                                               \
    } while (0)

#define CHECK(cond)                                                            \
    do { if (!(cond)) ND_FAIL_AT("CHECK(%s) failed", #cond); } while (0)
#define CHECK_INT(a, b)                                                        \
    do { long long _a = (long long)(a), _b = (long long)(b);                   \
         if (_a != _b) ND_FAIL_AT("%s == %lld, expected %s == %lld", #a, _a, #b, _b); } while (0)
#define CHECK_STR(a, b)                                                        \
    do { const char *_a = (a), *_b = (b);                                      \
         if (!_a || !_b || strcmp(_a, _b) != 0)                                \
             ND_FAIL_AT("%s == \"%s\", expected \"%s\"", #a, _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)
#define CHECK_NEAR(a, b, tol)                                                  \
    do { double _a = (a), _b = (b);                                            \
         if (!(fabs(_a - _b) <= (tol)))                                        \
             ND_FAIL_AT("%s == %.12g, expected %.12g (tol %g)", #a, _a, _b, (double)(tol)); } while (0)
#define CHECK_CONTAINS(hay, needle)                                            \
    do { const char *_h = (hay), *_n = (needle);                               \
         if (!_h || !strstr(_h, _n)) ND_FAIL_AT("\"%s\" does not contain \"%s\"", _h ? _h : "(null)", _n); } while (0)

#endif
