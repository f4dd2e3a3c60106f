/* Arena and buffer: alignment, zeroing, big blocks, formatting, XML escaping. */
#include <stdint.h>

#include "nadir/arena.h"
#include "test.h"

ND_TEST(alignment_and_zeroing) {
    nd_arena *a = nd_arena_new(256);
    for (int i = 1; i < 200; i++) {
        unsigned char *p = nd_arena_alloc(a, (size_t)i);
        CHECK(((uintptr_t)p & 15) == 0);
        for (int k = 0; k < i; k++) CHECK(p[k] == 0);
        memset(p, 0xAB, (size_t)i);
    }
    nd_arena_free(a);
}

ND_TEST(big_allocation_keeps_current_block) {
    nd_arena *a = nd_arena_new(1024);
    char *small1 = nd_arena_strdup(a, "first");
    char *big = nd_arena_alloc(a, 100000);
    big[99999] = 1;
    char *small2 = nd_arena_strdup(a, "second");
    /* The small allocations share a block: the big one must not have taken the current block's place. */
    CHECK((size_t)(small2 - small1) < 1024);
    CHECK_STR(small1, "first");
    CHECK(nd_arena_used(a) >= 100000);
    nd_arena_free(a);
}

ND_TEST(printf_and_strndup) {
    nd_arena *a = nd_arena_new(0);
    CHECK_STR(nd_arena_printf(a, "%s-%d-%.2f", "x", 42, 1.5), "x-42-1.50");
    CHECK_STR(nd_arena_strndup(a, "abcdef", 3), "abc");
    CHECK_STR(nd_arena_strndup(a, "ab", 1000), "ab"); /* shorter than n: stops at the end */
    CHECK_STR(nd_arena_printf(a, "%s", ""), "");
    char longer[5000];
    memset(longer, 'z', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    CHECK_INT(strlen(nd_arena_printf(a, "%s", longer)), 4999);
    nd_arena_free(a);
}

ND_TEST(buffer_grows_and_escapes) {
    nd_buf b = {0};
    for (int i = 0; i < 1000; i++) nd_buf_printf(&b, "%d,", i);
    CHECK(b.len > 3000);
    CHECK_INT(b.data[b.len], 0);
    nd_buf_reset(&b);
    nd_buf_put_xml(&b, "<a href=\"x\">&'\x01");
    CHECK_STR(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;?");
    size_t len;
    char *s = nd_buf_steal(&b, &len);
    CHECK_INT(len, strlen(s));
    CHECK(b.data == NULL && b.len == 0);
    free(s);
    nd_buf_free(&b);
}
