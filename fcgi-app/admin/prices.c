/* /api/admin/prices: prices per million tokens by model (docs/USAGE.md). */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "admin/resource.h"
#include "core/nelem.h"
#include "core/price.h"

static const char *check_currency(const char *s)
{
    size_t i;

    for (i = 0; i < 3; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return "must be three capital letters (ISO 4217), such as USD";
    return s[3] == '\0' ? NULL : "must be three capital letters (ISO 4217), such as USD";
}

#define PRICE_MAX 1000000 /* per million tokens */

static const struct vfield fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "model",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 128,
     .check = price_check_model},
    {.name = "prompt", .type = VT_NUMBER, .flags = VF_REQUIRED, .min = 0, .max = PRICE_MAX},
    {.name = "completion", .type = VT_NUMBER, .flags = VF_REQUIRED, .min = 0, .max = PRICE_MAX},
    {.name = "cached",
     .type = VT_NUMBER,
     .flags = VF_NULLABLE,
     .min = 0,
     .max = PRICE_MAX,
     .def = "null"},
    {.name = "currency",
     .type = VT_STRING,
     .min = 3,
     .max = 3,
     .check = check_currency,
     .def = "\"USD\""},
    {.name = "created_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "updated_at", .type = VT_TIME, .flags = VF_READONLY},
};
_Static_assert(NELEM(fields) <= RS_FIELDS_MAX, "prices: raise RS_FIELDS_MAX");

struct resource admin_prices = {
    .noun = "price",
    .table = "prices",
    .fields = fields,
    .nfields = NELEM(fields),
    .list_order = "model",
    .bumps_pool = true,
};

/* Names the model in the answer to a duplicate. */
static enum err model_conflict(struct req *r, struct rs_write *w, char *msg, size_t len)
{
    (void)r;
    (void)msg;
    (void)len;
    snprintf(w->conflict, sizeof(w->conflict), "model: a price for %s already exists",
             rs_jstr(w->after, "model"));
    return ERR_OK;
}

void h_prices_list(struct req *r, const struct route_args *a)
{
    (void)a;
    rs_list(r, &admin_prices, NULL, 0);
}

void h_prices_get(struct req *r, const struct route_args *a)
{
    rs_get(r, &admin_prices, a->id);
}

void h_prices_create(struct req *r, const struct route_args *a)
{
    (void)a;
    rs_create(r, &admin_prices, model_conflict, NULL);
}

void h_prices_update(struct req *r, const struct route_args *a)
{
    rs_update(r, &admin_prices, a->id, NULL);
}

void h_prices_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &admin_prices, a->id);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_prices = {fields, NELEM(fields)};
