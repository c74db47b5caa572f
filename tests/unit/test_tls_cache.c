/*
 * test_tls_cache.c - the shared TLS session cache: a session saved through
 * one mapping is found through another (as two smtpd processes would), in
 * a child process too; unknown IDs miss; a full set drops its least
 * recently used entry; entries another process corrupted are refused.
 */
#include "t.h"
#include "tls.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static br_ssl_session_parameters
params(unsigned char tag, unsigned char set)
{
	br_ssl_session_parameters p;

	memset(&p, 0, sizeof p);
	memset(p.session_id, tag, 32);
	p.session_id[0] = set; /* the first 4 bytes pick the set */
	p.session_id[1] = p.session_id[2] = p.session_id[3] = 0;
	p.session_id_len = 32;
	p.version = BR_TLS12;
	p.cipher_suite = BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
	memset(p.master_secret, tag ^ 0x55, 48);
	return p;
}

static int
lookup(struct tls_cache *c, br_ssl_session_parameters want)
{
	br_ssl_session_parameters got = want;

	memset(got.master_secret, 0, 48);
	if (!c->vtable->load(&c->vtable, NULL, &got))
		return 0;
	return memcmp(got.master_secret, want.master_secret, 48) == 0 &&
	       got.cipher_suite == want.cipher_suite;
}

int
main(void)
{
	struct tls_cache a, b;
	int fd = tls_cache_create(), status = -1;
	br_ssl_session_parameters p1 = params(1, 7), p;
	pid_t pid;

	T_CHECK(fd >= 0, "memfd");
	T_CHECK(tls_cache_attach(&a, fd) == 0 && tls_cache_attach(&b, fd) == 0,
	        "two mappings");
	a.vtable->save(&a.vtable, NULL, &p1);
	T_CHECK(lookup(&b, p1), "saved through one, found through the other");
	T_CHECK(b.hits == 1, "a hit counted");
	p = params(2, 7);
	T_CHECK(!lookup(&b, p), "an unknown ID misses");
	pid = fork();
	if (pid == 0) {
		struct tls_cache c;
		br_ssl_session_parameters q = params(3, 9);

		if (tls_cache_attach(&c, fd) < 0 || !lookup(&c, p1))
			_exit(1);
		c.vtable->save(&c.vtable, NULL, &q);
		_exit(0);
	}
	T_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
	            WIFEXITED(status) && WEXITSTATUS(status) == 0,
	        "a child process finds it");
	T_CHECK(lookup(&a, params(3, 9)), "and what the child saved is here");
	/* set 7 holds 4: p1 plus three more; p1 was used last, so the fifth
	 * replaces the oldest of the others (tag 4) */
	for (unsigned char t = 4; t <= 6; t++) {
		p = params(t, 7);
		a.vtable->save(&a.vtable, NULL, &p);
	}
	T_CHECK(lookup(&a, p1), "p1 used again");
	p = params(10, 7);
	a.vtable->save(&a.vtable, NULL, &p);
	T_CHECK(lookup(&a, p1) && lookup(&a, params(10, 7)) &&
	            lookup(&a, params(5, 7)) && lookup(&a, params(6, 7)),
	        "the newest and the recently used stay");
	T_CHECK(!lookup(&a, params(4, 7)), "the least recently used went");
	/* a corrupted entry (say, written by a compromised smtpd) */
	p = params(11, 12);
	p.cipher_suite = 0x000a; /* 3DES, never ours */
	a.vtable->save(&a.vtable, NULL, &p);
	T_CHECK(!lookup(&b, p), "an entry with a foreign suite is refused");
	p = params(12, 13);
	p.session_id_len = 16;
	a.vtable->save(&a.vtable, NULL, &p);
	T_CHECK(!lookup(&b, params(12, 13)), "short IDs are not stored");
	T_CHECK(tls_cache_attach(&b, 0) < 0, "stdin is not a cache");
	tls_cache_detach(&a);
	tls_cache_detach(&b);
	close(fd);
	return T_DONE();
}
