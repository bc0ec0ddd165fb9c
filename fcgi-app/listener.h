/*
 * The FastCGI listening socket when the application makes it itself
 * (fcgi_socket or -s PATH); a socket handed over on fd 0 by systemd or a
 * process manager is used as it comes.
 *
 * The socket is created mode 0660 in the group fcgi_socket_group, so that
 * only the web server (and the application's own user) can speak FastCGI
 * to it.  A path held by a live listener is never taken over.
 */
#ifndef APIGW_LISTENER_H
#define APIGW_LISTENER_H

#include <stddef.h>

/* Opens a listening unix socket at path, mode 0660, in the group named
 * group (NULL or "": the process's own).  A socket file nobody listens on
 * any more is replaced; anything else at path is left alone and refused.
 * A group that does not exist, or that the process may not give the
 * socket, is said once in the log and the socket keeps the process's own
 * group.  Returns the listening descriptor (the caller owns it), or -1
 * with one line in err saying what is wrong. */
int listener_open(const char *path, const char *group, char *err, size_t errlen);

#endif
