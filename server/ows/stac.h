/* Shared by the STAC front-end files (stac.c, stac_search.c, stac_tx.c): the catalogue and JSON rendering. */
#ifndef NADIR_OWS_STAC_H
#define NADIR_OWS_STAC_H

#include <jansson.h>

#include "nadir/app.h"
#include "nadir/catalog.h"

#define ND_STAC_VERSION "1.0.0"
#define ND_GEOJSON "application/geo+json"

/* The catalogue opened by nd_stac_register (one per process). */
nd_cat *nd_stac_cat(void);
/* Serialises o (consumed) with status and media type. */
int nd_stac_send(nd_resp *rs, json_t *o, int status, const char *type);
/* An item as served: links added, asset hrefs on this server made absolute (item is modified). */
json_t *nd_stac_item_out(nd_req *rq, json_t *item);
json_t *nd_stac_collection_out(nd_req *rq, json_t *coll);
/* Removes from a JSON array of collections those the caller may not read. */
void nd_stac_drop_forbidden(nd_req *rq, json_t *list);
/* Parses the request body as a JSON object (limit-checked); errors name "body". */
int nd_stac_body(nd_req *rq, json_t **out);

/* GET /stac/search, POST /stac/search, GET /stac/collections/{collectionId}/items */
int nd_stac_search_get(nd_req *rq, nd_resp *rs);
int nd_stac_search_post(nd_req *rq, nd_resp *rs);
int nd_stac_items(nd_req *rq, nd_resp *rs);
/* GET /stac/collections/{collectionId}/items/{itemId}/file: the ingested file of the item's data asset. */
int nd_stac_item_file(nd_req *rq, nd_resp *rs);

/* Transactions: routes added when the configuration enables them. */
void nd_stac_tx_register(nd_app *app);

#endif
