/* SQL fragments shared by the statements of several files. */
#ifndef APIGW_SQLFMT_H
#define APIGW_SQLFMT_H

/* A DATETIME column as RFC 3339 UTC text (NULL stays NULL). */
#define SQL_TIME(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

#endif
