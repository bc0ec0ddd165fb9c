#include "core/crypto.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/utf8.h"

static const unsigned char aad[] = "apigw-key-v1";

int crypto_random(void *out, size_t n)
{
    unsigned char *p = out;

    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

int crypto_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[64];
    size_t i;

    if (nbytes > sizeof(raw) || crypto_random(raw, nbytes) != 0)
        return -1;
    for (i = 0; i < nbytes; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * nbytes] = '\0';
    return 0;
}

int crypto_seal(const unsigned char key[32], const void *plain, size_t n, unsigned char *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len, rc = -1;

    if (ctx == NULL || n > 1u << 20 || crypto_random(out, CRYPTO_NONCE_LEN) != 0)
        goto out;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &len, aad, sizeof(aad) - 1) != 1 ||
        EVP_EncryptUpdate(ctx, out + CRYPTO_NONCE_LEN, &len, plain, (int)n) != 1 ||
        EVP_EncryptFinal_ex(ctx, out + CRYPTO_NONCE_LEN + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN,
                            out + CRYPTO_NONCE_LEN + n) != 1)
        goto out;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

long crypto_open(const unsigned char key[32], const unsigned char *sealed, size_t n, char *out)
{
    EVP_CIPHER_CTX *ctx;
    size_t clen;
    int len, fin;
    long rc = -1;

    if (n < CRYPTO_OVERHEAD || n > (1u << 20) + CRYPTO_OVERHEAD)
        return -1;
    clen = n - CRYPTO_OVERHEAD;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return -1;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, sealed) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &len, aad, sizeof(aad) - 1) != 1 ||
        EVP_DecryptUpdate(ctx, (unsigned char *)out, &len, sealed + CRYPTO_NONCE_LEN, (int)clen) !=
            1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN,
                            (void *)(sealed + CRYPTO_NONCE_LEN + clen)) != 1)
        goto out;
    fin = EVP_DecryptFinal_ex(ctx, (unsigned char *)out + len, &len);
    if (fin != 1) {
        OPENSSL_cleanse(out, clen);
        goto out;
    }
    out[clen] = '\0';
    rc = (long)clen;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* SHA-256 fetched once per process, and a digest context per thread that
 * is reset for each hash: EVP_Digest with EVP_sha256() looks the algorithm
 * up and allocates two contexts on every call (1.6 us against 0.4 us for
 * a short token here), and every proxied request hashes its token. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_ctx_key;
static bool sha256_key_ok;

static void sha256_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void sha256_setup(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha256_key_ok = pthread_key_create(&sha256_ctx_key, sha256_ctx_free) == 0;
}

void crypto_sha256(const void *p, size_t n, unsigned char out[SHA256_LEN])
{
    unsigned int len = SHA256_LEN;
    EVP_MD_CTX *ctx;

    pthread_once(&sha256_once, sha256_setup);
    ctx = sha256_key_ok ? pthread_getspecific(sha256_ctx_key) : NULL;
    if (ctx == NULL && sha256_key_ok && (ctx = EVP_MD_CTX_new()) != NULL &&
        pthread_setspecific(sha256_ctx_key, ctx) != 0) {
        EVP_MD_CTX_free(ctx);
        ctx = NULL;
    }
    if (sha256_md == NULL || ctx == NULL || EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, p, n) != 1 || EVP_DigestFinal_ex(ctx, out, &len) != 1)
        EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

void crypto_wipe(void *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
}

bool crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool crypto_equal_str(const char *a, const char *b)
{
    unsigned char ha[SHA256_LEN], hb[SHA256_LEN];

    crypto_sha256(a, strlen(a), ha);
    crypto_sha256(b, strlen(b), hb);
    return crypto_equal(ha, hb, SHA256_LEN);
}

void crypto_mask(const char *secret, size_t n, char out[MASK_MAX])
{
    size_t chars = utf8_chars(secret, n), show = chars >= 24 ? 4 : chars / 6;
    size_t head = utf8_prefix(secret, n, show), tail_start = utf8_prefix(secret, n, chars - show);
    size_t tail = n - tail_start;

    /* At most 4 characters of up to 4 bytes each on either side. */
    memcpy(out, secret, head);
    memcpy(out + head, "\xe2\x80\xa6", 3); /* … */
    memcpy(out + head + 3, secret + tail_start, tail);
    out[head + 3 + tail] = '\0';
}

char *crypto_password_hash(const char *password)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *data;
    char *out = NULL, *h;

    if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) == NULL)
        return NULL;
    data = calloc(1, sizeof(*data));
    if (data == NULL)
        return NULL;
    h = crypt_rn(password, setting, data, sizeof(*data));
    if (h != NULL && h[0] == '$')
        out = strdup(h);
    OPENSSL_cleanse(data, sizeof(*data));
    free(data);
    return out;
}

bool crypto_password_check(const char *password, const char *stored)
{
    struct crypt_data *data = calloc(1, sizeof(*data));
    bool ok = false;
    char *h;

    if (data == NULL)
        return false;
    h = crypt_rn(password, stored, data, sizeof(*data));
    if (h != NULL && h[0] == '$' && strlen(h) == strlen(stored))
        ok = crypto_equal(h, stored, strlen(stored));
    OPENSSL_cleanse(data, sizeof(*data));
    free(data);
    return ok;
}

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_freed = PTHREAD_COND_INITIALIZER;
static long long slots_taken, slots_waiting;

bool crypto_hash_slot_take(long long limit, long long wait_ms)
{
    struct timespec until;
    bool got;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(wait_ms / 1000);
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
        until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&slot_lock);
    /* No more callers wait than there are slots: the rest are refused at
     * once, so that waiting logins never hold many worker threads. */
    if (slots_taken >= limit && slots_waiting >= limit) {
        pthread_mutex_unlock(&slot_lock);
        return false;
    }
    slots_waiting++;
    while (slots_taken >= limit &&
           pthread_cond_clockwait(&slot_freed, &slot_lock, CLOCK_MONOTONIC, &until) == 0)
        ;
    slots_waiting--;
    got = slots_taken < limit;
    if (got)
        slots_taken++;
    pthread_mutex_unlock(&slot_lock);
    return got;
}

void crypto_hash_slot_give(void)
{
    pthread_mutex_lock(&slot_lock);
    slots_taken--;
    pthread_cond_signal(&slot_freed);
    pthread_mutex_unlock(&slot_lock);
}
