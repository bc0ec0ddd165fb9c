/* The shaping preview's route (shape_preview.h): the admin side reads the
 * sample and the upstream, the proxy side shapes it and answers. */
#include "shape_preview.h"

#include "admin/handlers.h"
#include "proxy/proxy.h"

void h_upstreams_shape_test(struct req *r, const struct route_args *a)
{
    struct shape_sample s;

    if (admin_shape_sample(r, a->id, &s))
        proxy_shape_preview(&s);
    admin_shape_sample_free(&s);
}
