/* The errors of a stats range by reason (stats_reasons.c). */
#ifndef APIGW_ADMIN_STATS_REASONS_H
#define APIGW_ADMIN_STATS_REASONS_H

struct json_object;
struct req;

/* The most frequent (status, reason) pairs among the newest errors of the
 * range [from_db, to_db) (UTC "YYYY-MM-DD hh:mm:ss"), of one upstream when
 * upstream_id > 0: adds errors_by_reason and errors_sampled to out.
 * Returns a db_rc. */
int stats_add_error_reasons(struct req *r, const char *from_db, const char *to_db,
                            long long upstream_id, struct json_object *out);

#endif
