/*
 * NELEM(a): the number of elements of the array a.  Only for real arrays,
 * never for pointers (sizeof would then measure the pointer).
 */
#ifndef APIGW_NELEM_H
#define APIGW_NELEM_H

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
