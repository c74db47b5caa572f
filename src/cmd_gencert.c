/*
 * cmd_gencert.c - `tinymta gencert [-f] [-d DAYS] [-n NAME] [CERT KEY]`: a
 * new ECDSA P-256 key (BearSSL, entropy from getrandom()) and a self-signed
 * certificate for it (x509_write.c), as PEM. Defaults: the paths of
 * smtpd_tls_cert_file and smtpd_tls_key_file, NAME $myhostname, 3650 days.
 * While the clock is unset (DESIGN.md "Clock") the certificate starts at
 * the build date. The key file is 0600 (owned by whoever runs this: root on
 * the image; the master hands it to smtpd as a descriptor). Both files are
 * written atomically (temporary file, fsync, rename, fsync of the
 * directory); existing files are kept unless -f.
 */
#include "cmd_tinymta.h"
#include "conf.h"
#include "util/clock.h"
#include "util/io.h"
#include "util/str.h"
#include "x509_write.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GENCERT_DAYS_MAX 36500
#define PEM_MAX 4096

struct gencert {
	char cert[CONF_VALUE_MAX], key[CONF_VALUE_MAX];
	char name[X509_NAME_MAX + 1];
	long days;
	int force;
};

static int
usage(void)
{
	fprintf(stderr, "usage: tinymta gencert [-f] [-d DAYS] [-n NAME] "
	                "[CERT KEY]\n");
	return 64;
}

/* Write data to path through path.tmp.PID: fsync, rename, fsync dir. */
static int
write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[CONF_VALUE_MAX + 32], dir[CONF_VALUE_MAX];
	char *slash;
	int fd,
	    n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());

	if (n < 0 || (size_t)n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = io_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || io_write_all(fd, data, len) < 0 ||
	    io_fsync(fd) < 0 || io_close(fd) < 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
		return -1;
	}
	str_copy(dir, sizeof dir, path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		str_copy(dir, sizeof dir, ".");
	return io_fsync_dir(dir);
}

static int
options(struct gencert *g, int argc, char **argv)
{
	const char *name = NULL;
	int i;

	g->days = 3650;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		char *end;

		if (strcmp(argv[i], "-f") == 0) {
			g->force = 1;
		} else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			g->days = strtol(argv[++i], &end, 10);
			if (*end || g->days < 1 || g->days > GENCERT_DAYS_MAX) {
				fprintf(stderr,
				        "tinymta gencert: -d %s: days must be "
				        "1..%d\n",
				        argv[i], GENCERT_DAYS_MAX);
				return -1;
			}
		} else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			name = argv[++i];
		} else {
			return usage();
		}
	}
	if (argc - i != 0 && argc - i != 2)
		return usage();
	if (argc - i == 2) {
		str_copy(g->cert, sizeof g->cert, argv[i]);
		str_copy(g->key, sizeof g->key, argv[i + 1]);
	}
	if (name) {
		if (strlen(name) >= sizeof g->name || !x509_name_ok(name)) {
			fprintf(stderr,
			        "tinymta gencert: -n %s: not a host name "
			        "(letters, digits, '-', '.'; at most %d "
			        "bytes)\n",
			        name, X509_NAME_MAX);
			return -1;
		}
		str_copy(g->name, sizeof g->name, name);
	}
	return 0;
}

/* The defaults from main.cf. 0, or -1 (printed). */
static int
defaults(struct gencert *g)
{
	struct conf_problems *ps = conf_problems_new();
	struct conf *c = conf_new(NULL);
	int rc = -1;

	if (ps && c && conf_load(c, ps) == 0) {
		if (!g->cert[0]) {
			str_copy(g->cert, sizeof g->cert,
			         conf_get(c, "smtpd_tls_cert_file"));
			str_copy(g->key, sizeof g->key,
			         conf_get(c, "smtpd_tls_key_file"));
		}
		if (!g->name[0]) {
			const char *h = conf_get(c, "myhostname");

			if (!h || strlen(h) >= sizeof g->name ||
			    !x509_name_ok(h))
				fprintf(stderr,
				        "tinymta gencert: myhostname \"%s\" is "
				        "not usable as a certificate name: "
				        "use -n NAME\n",
				        h ? h : "");
			else
				str_copy(g->name, sizeof g->name, h);
		}
		rc = g->name[0] && g->cert[0] && g->key[0] ? 0 : -1;
	} else if (ps) {
		conf_problems_print(ps, stderr, "tinymta gencert");
	}
	if (c)
		conf_free(c);
	conf_problems_free(ps);
	return rc;
}

/* PEM of der (label) into out[cap]; its length or 0. */
static size_t
pem(char *out, size_t cap, const void *der, size_t len, const char *label)
{
	size_t n = br_pem_encode(NULL, der, len, label, BR_PEM_LINE64);

	if (n + 1 > cap)
		return 0;
	return br_pem_encode(out, der, len, label, BR_PEM_LINE64);
}

static void
fingerprint(const unsigned char *der, size_t len, char *out, size_t cap)
{
	br_sha256_context h;
	unsigned char d[32];
	size_t k = 0;

	br_sha256_init(&h);
	br_sha256_update(&h, der, len);
	br_sha256_out(&h, d);
	out[0] = '\0';
	for (size_t i = 0; i < sizeof d && k + 4 <= cap; i++)
		k += (size_t)snprintf(out + k, cap - k, "%s%02X", i ? ":" : "",
		                      d[i]);
}

/* Make the key and the certificate and write both. The exit status. */
static int
make(const struct gencert *g)
{
	br_hmac_drbg_context rng;
	br_ec_private_key sk;
	br_ec_public_key pk;
	unsigned char seed[48], kbuf[BR_EC_KBUF_PRIV_MAX_SIZE],
	    qbuf[BR_EC_KBUF_PUB_MAX_SIZE], cert[2048], key[256];
	char certpem[PEM_MAX], keypem[PEM_MAX], fp[100], until[32];
	struct x509_self r = {.name = g->name};
	size_t certlen, keylen, cpl, kpl;
	int64_t now = (int64_t)time(NULL);
	time_t end;
	struct tm tm;
	int rc = 75;

	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed ||
	    getrandom(r.serial, sizeof r.serial, 0) !=
	        (ssize_t)sizeof r.serial) {
		fprintf(stderr, "tinymta gencert: getrandom: %s\n",
		        strerror(errno));
		return 71;
	}
	br_hmac_drbg_init(&rng, &br_sha256_vtable, seed, sizeof seed);
	if (!br_ec_keygen(&rng.vtable, br_ec_get_default(), &sk, kbuf,
	                  BR_EC_secp256r1) ||
	    !br_ec_compute_pub(br_ec_get_default(), &pk, qbuf, &sk)) {
		fprintf(stderr, "tinymta gencert: key generation failed\n");
		goto out;
	}
	/* an unset clock: valid from the build date (DESIGN.md "Clock");
	 * else from an hour ago, for clients whose clock is a little behind */
	r.not_before = clock_is_set() ? now - 3600 : clock_build_epoch();
	r.not_after = r.not_before + (int64_t)g->days * 86400;
	certlen = x509_self_signed(&r, &sk, &pk, cert, sizeof cert);
	keylen = br_encode_ec_raw_der(key, &sk, &pk);
	cpl = certlen
	          ? pem(certpem, sizeof certpem, cert, certlen, "CERTIFICATE")
	          : 0;
	kpl = keylen ? pem(keypem, sizeof keypem, key, keylen, "EC PRIVATE KEY")
	             : 0;
	if (!cpl || !kpl) {
		fprintf(stderr, "tinymta gencert: cannot encode the "
		                "certificate\n");
		goto out;
	}
	if (write_atomic(g->key, keypem, kpl, 0600) < 0) {
		fprintf(stderr, "tinymta gencert: cannot write %s: %s\n",
		        g->key, strerror(errno));
		goto out;
	}
	if (write_atomic(g->cert, certpem, cpl, 0644) < 0) {
		fprintf(stderr, "tinymta gencert: cannot write %s: %s\n",
		        g->cert, strerror(errno));
		goto out;
	}
	fingerprint(cert, certlen, fp, sizeof fp);
	end = (time_t)r.not_after;
	if (!gmtime_r(&end, &tm) ||
	    !strftime(until, sizeof until, "%Y-%m-%d %H:%M:%S UTC", &tm))
		str_copy(until, sizeof until, "?");
	printf("wrote %s and %s (ECDSA P-256, CN=%s, valid until %s%s)\n"
	       "sha256 fingerprint %s\n",
	       g->cert, g->key, g->name, until,
	       clock_is_set() ? "" : ", clock unset: from the build date", fp);
	rc = 0;
out:
	explicit_bzero(seed, sizeof seed);
	explicit_bzero(kbuf, sizeof kbuf);
	explicit_bzero(key, sizeof key);
	explicit_bzero(keypem, sizeof keypem);
	explicit_bzero(&rng, sizeof rng);
	return rc;
}

int
tinymta_gencert_main(int argc, char **argv)
{
	struct gencert g;
	int r;

	memset(&g, 0, sizeof g);
	if ((r = options(&g, argc, argv)) != 0)
		return r < 0 ? 64 : r;
	if (defaults(&g) < 0)
		return 78;
	if (!g.force &&
	    (access(g.cert, F_OK) == 0 || access(g.key, F_OK) == 0)) {
		fprintf(stderr,
		        "tinymta gencert: %s or %s exists; -f replaces them\n",
		        g.cert, g.key);
		return 73;
	}
	return make(&g);
}
