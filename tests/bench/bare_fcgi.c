/*
 * The benchmark's baseline: the least a FastCGI + libcurl pass-through can
 * do.  N threads accept FastCGI requests, fetch one fixed URL with a reused
 * CURL handle and stream the body back.  No database, no keys, no logging.
 * usage: bare_fcgi SOCKET URL THREADS
 */
#include <curl/curl.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int listen_fd;
static const char *target;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    FCGX_Request *fr = ud;

    return FCGX_PutStr(p, (int)(size * n), fr->out) == (int)(size * n) ? size * n : 0;
}

static void *serve(void *arg)
{
    FCGX_Request fr;
    CURL *c = curl_easy_init();

    (void)arg;
    FCGX_InitRequest(&fr, listen_fd, 0);
    while (FCGX_Accept_r(&fr) >= 0) {
        curl_easy_setopt(c, CURLOPT_URL, target);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &fr);
        FCGX_FPrintF(fr.out, "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n");
        curl_easy_perform(c);
        FCGX_Finish_r(&fr);
    }
    curl_easy_cleanup(c);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th[256];
    int i, n;

    if (argc != 4)
        return 2;
    target = argv[2];
    n = (int)strtol(argv[3], NULL, 10);
    if (n < 1 || n > 256)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    FCGX_Init();
    /* FCGX_Init's handler only sets a flag: let SIGTERM end the process. */
    signal(SIGTERM, SIG_DFL);
    listen_fd = FCGX_OpenSocket(argv[1], 1024);
    if (listen_fd < 0)
        return 1;
    for (i = 0; i < n; i++)
        pthread_create(&th[i], NULL, serve, NULL);
    for (i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    return 0;
}
