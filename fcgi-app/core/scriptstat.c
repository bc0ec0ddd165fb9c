/* Upstream script errors of this process (scriptstat.h). */
#include "core/scriptstat.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ALERT_GAP_MS 60000

static struct {
    char name[72];
    long long count[SCRIPT_KIND__MAX];
    int64_t alerted_ms; /* when its last alert was due; 0: never */
} slots[SCRIPTSTAT_SLOTS];
static size_t nslots;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of name, made when new (the last slot takes the overflow). */
static size_t slot_of(const char *name)
{
    size_t i;

    for (i = 0; i < nslots; i++)
        if (strcmp(slots[i].name, name) == 0)
            return i;
    if (nslots == SCRIPTSTAT_SLOTS - 1)
        name = "-";
    for (i = 0; i < nslots; i++)
        if (strcmp(slots[i].name, name) == 0)
            return i;
    snprintf(slots[nslots].name, sizeof(slots[nslots].name), "%s", name);
    return nslots++;
}

bool scriptstat_note(const char *upstream, enum script_kind kind, int64_t now_ms)
{
    bool first = false;
    size_t i;

    if ((unsigned)kind >= SCRIPT_KIND__MAX)
        kind = SCRIPT_THROW;
    pthread_mutex_lock(&lock);
    i = slot_of(upstream != NULL ? upstream : "-");
    slots[i].count[kind]++;
    if (slots[i].alerted_ms == 0 || now_ms - slots[i].alerted_ms >= ALERT_GAP_MS) {
        slots[i].alerted_ms = now_ms > 0 ? now_ms : 1;
        first = true;
    }
    pthread_mutex_unlock(&lock);
    return first;
}

size_t scriptstat_rows(struct scriptstat_row *rows, size_t max)
{
    size_t i, n = 0;
    int k;

    pthread_mutex_lock(&lock);
    for (i = 0; i < nslots; i++)
        for (k = 0; k < SCRIPT_KIND__MAX; k++) {
            if (slots[i].count[k] == 0 || n == max)
                continue;
            memcpy(rows[n].upstream, slots[i].name, sizeof(rows[n].upstream));
            rows[n].kind = (enum script_kind)k;
            rows[n].count = slots[i].count[k];
            n++;
        }
    pthread_mutex_unlock(&lock);
    return n;
}
