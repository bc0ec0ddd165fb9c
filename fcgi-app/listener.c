#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

#define LISTEN_BACKLOG 1024
#define SOCKET_MODE    0660

/* Fills a unix socket address; -1 when path does not fit. */
static int make_addr(struct sockaddr_un *sa, const char *path)
{
    size_t n = strlen(path);

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (n == 0 || n >= sizeof(sa->sun_path))
        return -1;
    memcpy(sa->sun_path, path, n + 1);
    return 0;
}

/* Tries to connect to the socket at path without waiting.  Returns 0 when
 * a process accepts (or would, its queue being full), else the errno of
 * the failure (ECONNREFUSED: nobody listens). */
static int probe_listener(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), rc, saved;

    if (fd < 0)
        return errno;
    rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    saved = rc == 0 || errno == EAGAIN || errno == EINPROGRESS ? 0 : errno;
    close(fd);
    return saved;
}

/* Makes sure path is free: nothing there, or a socket file that no process
 * listens on any more (removed).  Returns 0, or -1 with err filled. */
static int claim_path(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
    struct stat st;
    int why;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "apigw-fcgi: cannot listen on %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen,
                 "apigw-fcgi: cannot listen on %s: the path exists and is not a socket", path);
        return -1;
    }
    why = probe_listener(sa);
    if (why == 0) {
        snprintf(err, errlen,
                 "apigw-fcgi: %s is in use by a running process (another apigw-fcgi?): "
                 "stop it first or choose another socket",
                 path);
        return -1;
    }
    if (why != ECONNREFUSED) {
        snprintf(err, errlen, "apigw-fcgi: cannot tell whether %s is in use: %s", path,
                 strerror(why));
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "apigw-fcgi: cannot remove the stale socket %s: %s", path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Gives the socket file to the named group; says in the log when it
 * cannot, and the file then keeps the process's own group. */
static void set_group(const char *path, const char *group)
{
    struct group gr, *found = NULL;
    char buf[16384];
    int rc;

    if (group == NULL || *group == '\0')
        return;
    rc = getgrnam_r(group, &gr, buf, sizeof(buf), &found);
    if (found == NULL) {
        log_warn("fcgi_socket_group: %s %s%s%s; the socket %s keeps the group of the process "
                 "(gid %ld), so only that group and root can connect",
                 rc != 0 ? "cannot look up the group" : "there is no group named", group,
                 rc != 0 ? ": " : "", rc != 0 ? strerror(rc) : "", path, (long)getegid());
        return;
    }
    if (chown(path, (uid_t)-1, gr.gr_gid) != 0) {
        log_warn("fcgi_socket_group: cannot give the socket %s to group %s (gid %ld): %s; it "
                 "keeps the group of the process (gid %ld)",
                 path, group, (long)gr.gr_gid, strerror(errno), (long)getegid());
        return;
    }
    log_info("FastCGI socket %s: mode 0660, group %s", path, group);
}

int listener_open(const char *path, const char *group, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    mode_t old_mask;
    int fd = -1, rc;

    if (make_addr(&sa, path) != 0) {
        snprintf(err, errlen, "apigw-fcgi: cannot listen on %s: the path is longer than %zu bytes",
                 path, sizeof(sa.sun_path) - 1);
        return -1;
    }
    if (claim_path(path, &sa, err, errlen) != 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    /* The file is born 0660: no moment in which others may connect.  No
     * thread runs yet, so changing the process's umask is safe. */
    old_mask = umask(0777 & ~SOCKET_MODE);
    rc = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
    umask(old_mask);
    if (rc != 0)
        goto fail;
    set_group(path, group);
    /* Nobody can connect before listen(): group and mode are final now. */
    if (chmod(path, SOCKET_MODE) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
        goto fail;
    return fd;
fail:
    snprintf(err, errlen, "apigw-fcgi: cannot listen on %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}
