/* SQL fragments shared by the statements of several files. */
#ifndef APIGW_SQLFMT_H
#define APIGW_SQLFMT_H

/* The DATE_FORMAT pattern of RFC 3339 UTC text. */
#define SQL_TIME_FORMAT "'%Y-%m-%dT%H:%i:%sZ'"

/* A DATETIME column as RFC 3339 UTC text (NULL stays NULL). */
#define SQL_TIME(col) "DATE_FORMAT(" col ", " SQL_TIME_FORMAT ")"

#endif
