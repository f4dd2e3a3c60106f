/* The nadir command line (placeholder until the CLI lands). */
#include <stdio.h>
int main(void) { puts("nadir " ND_VERSION); return 0; }
