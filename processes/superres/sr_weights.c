/* The shipped networks (superres_x2.bin, superres_x4.bin, written by train.py) built into the program,
 * so a job needs no file beside the binary; CMake names their folder (ND_SR_DIR) and rebuilds this file
 * when they change. */
#include <pthread.h>
#include <stdio.h>

#include "superres.h"

#ifndef ND_SR_DIR
#error "ND_SR_DIR must name the folder of the weights files"
#endif

#define ND_SR_BLOB(name, file)                                                                                 \
    __asm__(".pushsection .rodata\n.balign 16\n.global " #name "\n" #name ":\n.incbin \"" ND_SR_DIR "/" file \
            "\"\n.global " #name "_end\n" #name "_end:\n.popsection\n")

ND_SR_BLOB(nd_sr_weights_x2, "superres_x2.bin");
ND_SR_BLOB(nd_sr_weights_x4, "superres_x4.bin");
extern const unsigned char nd_sr_weights_x2[], nd_sr_weights_x2_end[], nd_sr_weights_x4[], nd_sr_weights_x4_end[];

static nd_sr_model models[2];
static int parsed[2];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void parse_all(void) {
    char e[256];
    parsed[0] = nd_sr_model_parse(nd_sr_weights_x2, (size_t)(nd_sr_weights_x2_end - nd_sr_weights_x2), &models[0], e,
                                  sizeof e) == 0 && models[0].scale == 2;
    parsed[1] = nd_sr_model_parse(nd_sr_weights_x4, (size_t)(nd_sr_weights_x4_end - nd_sr_weights_x4), &models[1], e,
                                  sizeof e) == 0 && models[1].scale == 4;
}

const nd_sr_model *nd_sr_model_builtin(int scale) {
    pthread_once(&once, parse_all);
    int i = scale == 2 ? 0 : scale == 4 ? 1 : -1;
    return i >= 0 && parsed[i] ? &models[i] : NULL;
}
