/* The tile front-ends' command line: `nadir seed` fills the tile cache. */
#ifndef NADIR_WMTS_H
#define NADIR_WMTS_H

/* nadir seed -c FILE LAYER --zoom A-B [--bbox W,S,E,N] [--time T] [--style S] [--tms ID] [--format png|jpg]
 * (argv[0] is "seed"); renders every tile of the range into the cache with a progress bar on stderr. */
int nd_wmts_seed_main(int argc, char **argv);

#endif
