/*
 * tls_cache.c - a TLS session cache shared by the per-connection smtpd
 * processes, so that a client may resume a session (RFC 5246 session IDs;
 * BearSSL has no tickets) in the next connection, served by another
 * process. The master makes one memfd (tls_cache_create) before it forks
 * the first TLS session and passes it to each smtpd; smtpd maps it shared
 * (tls_cache_attach) and gives BearSSL a br_ssl_session_cache_class over
 * it. A POSIX record lock (fcntl F_SETLKW: per process, released when the
 * process dies) guards each lookup and store. Entries live
 * TLS_CACHE_LIFETIME seconds of the monotonic clock. The table is
 * 4-way set associative, the set picked by the session ID (random bytes
 * BearSSL makes), so a lookup touches one page, not the whole table; a
 * full set replaces its least recently used entry. UNTRUSTED-ish: every smtpd
 * may write the table, so entries are checked before BearSSL gets them.
 */
#define _GNU_SOURCE /* memfd_create */
#include "tls.h"
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TLS_CACHE_MAGIC 0x746c7331u /* "tls1" */
#define WAYS 4

struct tls_cache_slot {
	int64_t expires; /* clock_mono(); 0: free */
	uint64_t used;   /* LRU stamp */
	br_ssl_session_parameters p;
};

struct tls_cache_shm {
	uint32_t magic, nslots;
	uint64_t stamp;
	struct tls_cache_slot slot[TLS_CACHE_SLOTS];
};

int
tls_cache_create(void)
{
	int fd = memfd_create("tinymta-tls-cache", MFD_CLOEXEC);
	struct tls_cache_shm *m;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, sizeof *m) < 0)
		goto fail;
	m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto fail;
	m->magic = TLS_CACHE_MAGIC;
	m->nslots = TLS_CACHE_SLOTS;
	munmap(m, sizeof *m);
	return fd;
fail:
	close(fd);
	return -1;
}

static int
lock(const struct tls_cache *c, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET};
	int r;

	do
		r = fcntl(c->fd, F_SETLKW, &fl);
	while (r < 0 && errno == EINTR);
	return r;
}

static void
unlock(const struct tls_cache *c)
{
	struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET};

	(void)fcntl(c->fd, F_SETLK, &fl);
}

/* The first slot of id's set. */
static size_t
set_of(const unsigned char *id)
{
	uint32_t h = (uint32_t)id[0] | (uint32_t)id[1] << 8 |
	             (uint32_t)id[2] << 16 | (uint32_t)id[3] << 24;

	return (size_t)(h % (TLS_CACHE_SLOTS / WAYS)) * WAYS;
}

static void
save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
     const br_ssl_session_parameters *p)
{
	struct tls_cache *c = (struct tls_cache *)(void *)ctx;
	struct tls_cache_shm *m = c->shm;
	int64_t now = clock_mono();
	size_t first, pick;

	(void)sc;
	if (p->session_id_len != 32 || lock(c, F_WRLCK) < 0)
		return;
	first = pick = set_of(p->session_id);
	/* the same ID, else a free or expired slot, else the oldest */
	for (size_t i = first; i < first + WAYS; i++) {
		const struct tls_cache_slot *s = &m->slot[i];

		if (s->expires > now &&
		    memcmp(s->p.session_id, p->session_id, 32) == 0) {
			pick = i;
			break;
		}
		if (m->slot[pick].expires > now &&
		    (s->expires <= now || s->used < m->slot[pick].used))
			pick = i;
	}
	m->slot[pick].p = *p;
	m->slot[pick].expires = now + TLS_CACHE_LIFETIME;
	m->slot[pick].used = ++m->stamp;
	unlock(c);
}

static int
load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
     br_ssl_session_parameters *p)
{
	struct tls_cache *c = (struct tls_cache *)(void *)ctx;
	struct tls_cache_shm *m = c->shm;
	int64_t now = clock_mono();
	size_t first;
	int found = 0;

	(void)sc;
	if (p->session_id_len != 32 || lock(c, F_WRLCK) < 0)
		return 0;
	first = set_of(p->session_id);
	for (size_t i = first; i < first + WAYS && !found; i++) {
		struct tls_cache_slot *s = &m->slot[i];

		if (s->expires <= now ||
		    memcmp(s->p.session_id, p->session_id, 32) != 0)
			continue;
		/* another process wrote this: only what we could have made */
		if (s->p.version != BR_TLS12 ||
		    !tls_suite_name(s->p.cipher_suite, NULL) ||
		    s->p.session_id_len != 32)
			break;
		*p = s->p;
		s->used = ++m->stamp;
		found = 1;
	}
	unlock(c);
	c->hits += (unsigned)found;
	return found;
}

static const br_ssl_session_cache_class cache_class = {sizeof(struct tls_cache),
                                                       save, load};

int
tls_cache_attach(struct tls_cache *c, int fd)
{
	struct stat st;
	struct tls_cache_shm *m;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size != sizeof *m)
		return -1;
	m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	/* no read-around: a lookup maps the page of its set, not the table */
	(void)madvise(m, sizeof *m, MADV_RANDOM);
	if (m->magic != TLS_CACHE_MAGIC || m->nslots != TLS_CACHE_SLOTS) {
		munmap(m, sizeof *m);
		return -1;
	}
	c->vtable = &cache_class;
	c->fd = fd;
	c->shm = m;
	return 0;
}

void
tls_cache_detach(struct tls_cache *c)
{
	if (c->shm)
		munmap(c->shm, sizeof *c->shm);
	c->shm = NULL;
}

void
tls_server_use_cache(struct tls_conn *t, struct tls_cache *c)
{
	if (c && c->shm)
		br_ssl_server_set_cache(&t->sc, &c->vtable);
}
