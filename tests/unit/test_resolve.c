/*
 * test_resolve.c - the pure parts of local delivery's extras: .forward
 * safety rules and paths (forward.c), the Received: counter of
 * hopcount_limit (local_hops.c), the exit status mapping and environment
 * filter of |command delivery (local_pipe.c).
 */
#include "forward.h"
#include "local.h"
#include "t.h"

#include <sys/wait.h>

static void
test_forward_check(void)
{
	static const struct {
		mode_t mode;
		uid_t owner;
		enum forward_verdict want;
	} cases[] = {
	    {S_IFREG | 0644, 1000, FORWARD_OK},
	    {S_IFREG | 0600, 0, FORWARD_OK},    /* root's: Postfix allows */
	    {S_IFREG | 0664, 1000, FORWARD_OK}, /* group write: allowed */
	    {S_IFREG | 0666, 1000, FORWARD_WORLD_WRITABLE},
	    {S_IFREG | 0602, 0, FORWARD_WORLD_WRITABLE},
	    {S_IFREG | 0644, 1001, FORWARD_BAD_OWNER},
	    {S_IFLNK | 0777, 1000, FORWARD_NOT_REGULAR},
	    {S_IFDIR | 0755, 1000, FORWARD_NOT_REGULAR},
	    {S_IFIFO | 0600, 1000, FORWARD_NOT_REGULAR},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct stat st;

		memset(&st, 0, sizeof st);
		st.st_mode = cases[i].mode;
		st.st_uid = cases[i].owner;
		T_CHECK(forward_check(&st, 1000) == cases[i].want, "case %zu",
		        i);
	}
}

static void
test_forward_path(void)
{
	char p[64];

	T_CHECK(forward_path("/home/a", "+x", 0, p, sizeof p) == 1, "ext");
	T_STREQ(p, "/home/a/.forward+x", "with extension");
	T_CHECK(forward_path("/home/a", "+x", 1, p, sizeof p) == 1, "plain");
	T_STREQ(p, "/home/a/.forward", "without extension");
	T_CHECK(forward_path("/home/a", "", 0, p, sizeof p) == 0, "none");
	T_CHECK(forward_path("/", "", 1, p, sizeof p) == 1, "root dir");
	T_STREQ(p, "/.forward", "home /");
	T_CHECK(forward_path("/home/a", "", 1, p, 10) == 0, "too long");
}

static unsigned
hops_of(const char *msg, size_t limit, size_t step)
{
	struct local_hops h;
	size_t len = strlen(msg);

	local_hops_init(&h, limit);
	for (size_t i = 0; i < len; i += step)
		if (local_hops_feed(&h, msg + i,
		                    len - i < step ? len - i : step))
			break;
	return h.count;
}

static void
test_hops(void)
{
	static const struct {
		const char *msg;
		unsigned want;
	} cases[] = {
	    {"Received: a\nreceived: b\nRECEIVED : c\nSubject: x\n\nbody\n", 3},
	    {"Received: a\n\tfolded Received: no\nX-Received: no\n\n", 1},
	    {"Subject: x\n\nReceived: in the body\n", 0},
	    {"Received: a\nnot a header line\nReceived: b\n\n", 1},
	    {"Receivedx: a\nReceive: b\n\n", 0},
	    {"", 0},
	};
	char big[51 * 16 + 8];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (size_t step = 1; step <= 7; step += 6)
			T_CHECK(hops_of(cases[i].msg, 100000, step) ==
			            cases[i].want,
			        "case %zu step %zu", i, step);
	for (int i = 0; i < 51; i++)
		memcpy(big + 12 * i, "Received: x\n", 12);
	big[51 * 12] = '\0';
	T_CHECK(hops_of(big, 100000, 100) == 51, "51 hops");
	T_CHECK(hops_of(big, 12 * 10, 100) == 10, "limit stops the scan");
}

static void
test_pipe_status(void)
{
	struct mbox_result r;

	local_pipe_status(0, 0, "cat", "", 0, &r);
	T_CHECK(r.status == MBOX_OK, "exit 0 sent");
	local_pipe_status(75 << 8, 0, "x", "", 0, &r);
	T_CHECK(r.status == MBOX_TEMP && strcmp(r.dsn, "4.3.0") == 0, "75");
	local_pipe_status(71 << 8, 0, "x", "", 0, &r);
	T_CHECK(r.status == MBOX_TEMP, "71 EX_OSERR deferred");
	local_pipe_status(67 << 8, 0, "x", "", 0, &r);
	T_CHECK(r.status == MBOX_PERM && strcmp(r.dsn, "5.1.1") == 0, "67");
	local_pipe_status(77 << 8, 0, "x", "", 0, &r);
	T_CHECK(r.status == MBOX_PERM && strcmp(r.dsn, "5.7.0") == 0, "77");
	local_pipe_status(78 << 8, 0, "x", "", 0, &r);
	T_CHECK(r.status == MBOX_PERM && strcmp(r.dsn, "5.3.5") == 0, "78");
	local_pipe_status(63 << 8, 0, "x", "", 0, &r);
	T_CHECK(r.status == MBOX_PERM && strcmp(r.dsn, "5.3.0") == 0, "63");
	local_pipe_status(79 << 8, 0, "x", "", 0, &r);
	T_CHECK(r.status == MBOX_PERM && strcmp(r.dsn, "5.3.0") == 0, "79");
	local_pipe_status(1 << 8, 0, "false", "oops\n\tbad\x01", 10, &r);
	T_STREQ(r.reason,
	        "Command died with status 1: \"false\". Command output: oops "
	        "bad",
	        "status 1 with output on one line");
	local_pipe_status(9, 0, "x", "", 0, &r); /* killed by SIGKILL */
	T_CHECK(r.status == MBOX_TEMP, "signal deferred");
	local_pipe_status(9, 1, "sleep 9", "", 0, &r);
	T_CHECK(r.status == MBOX_TEMP &&
	            strstr(r.reason, "time limit exceeded") != NULL,
	        "time limit deferred: %s", r.reason);
}

static void
test_env_filter(void)
{
	char out[32];

	local_env_filter(out, sizeof out, "a+b@c.d-e_f=g:h,i/j%k!l");
	T_STREQ(out, "a+b@c.d-e_f=g:h,i/j%k!l", "allowed kept");
	local_env_filter(out, sizeof out, "a;b`c$d e|f'g\"h\n");
	T_STREQ(out, "a_b_c_d_e_f_g_h_", "shell magic replaced");
	local_env_filter(out, 4, "abcdef");
	T_STREQ(out, "abc", "bounded");
}

int
main(void)
{
	test_forward_check();
	test_forward_path();
	test_hops();
	test_pipe_status();
	test_env_filter();
	return T_DONE();
}
