/*
 * Secrets: key values encrypted at rest (AES-256-GCM), SHA-256 hashes for
 * uniqueness and token lookup, random tokens, password hashes (yescrypt via
 * crypt(3)), constant-time comparison and masking for display.
 */
#ifndef APIGW_CRYPTO_H
#define APIGW_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN   16
#define CRYPTO_OVERHEAD  (CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)
#define SHA256_LEN       32
#define MASK_MAX         40 /* bytes of a masked value, NUL included */

/* Encrypts n bytes of plain with key into out (n + CRYPTO_OVERHEAD bytes:
 * nonce, ciphertext, tag).  Returns 0 or -1. */
int crypto_seal(const unsigned char key[32], const void *plain, size_t n, unsigned char *out);

/* Decrypts what crypto_seal made (n bytes) into out (n - CRYPTO_OVERHEAD
 * bytes, plus a NUL written after them).  Returns the plaintext length, or
 * -1 when the data was altered or the key is wrong. */
long crypto_open(const unsigned char key[32], const unsigned char *sealed, size_t n, char *out);

/* SHA-256 of n bytes. */
void crypto_sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);

/* Fills out with n random bytes from the kernel.  Returns 0 or -1. */
int crypto_random(void *out, size_t n);

/* Writes 2*nbytes random hex characters and a NUL into out. */
int crypto_random_hex(char *out, size_t nbytes);

/* Overwrites n bytes of a secret with zeros (not optimized away). */
void crypto_wipe(void *p, size_t n);

/* Compares n bytes in time that does not depend on where they differ. */
bool crypto_equal(const void *a, const void *b, size_t n);

/* Compares two secrets of any length in constant time (by their hashes). */
bool crypto_equal_str(const char *a, const char *b);

/* Writes a display form of a secret: at most the first 4 and last 4
 * characters (UTF-8 aware) around "…", fewer for short values (never more
 * than a third of the value).  out must hold MASK_MAX bytes. */
void crypto_mask(const char *secret, size_t n, char out[MASK_MAX]);

/* Hashes a password with a fresh salt (yescrypt).  Returns a malloc'ed
 * string the caller frees, or NULL. */
char *crypto_password_hash(const char *password);

/* Checks a password against a stored hash in constant time. */
bool crypto_password_check(const char *password, const char *stored);

/* Password hashing slots, so that a flood of logins cannot take every CPU.
 * Waits up to wait_ms for one of limit slots (shared by the process) and
 * takes it; when limit callers wait already, gives up at once.  Returns
 * true when the caller holds a slot and must give it back with
 * crypto_hash_slot_give, false when none came free in time. */
bool crypto_hash_slot_take(long long limit, long long wait_ms);

/* Gives back a slot taken by crypto_hash_slot_take. */
void crypto_hash_slot_give(void);

#endif
