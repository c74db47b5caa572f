/*
 * test_ipc.c - frames round-trip, malformed frames are refused, and
 * descriptors travel over a real SOCK_SEQPACKET socketpair.
 */
#include "ipc.h"
#include "t.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct {
	const char *name;
	const char *bytes;
	size_t len;
	int want; /* 0 ok, -1 refused */
} frames[] = {
    {"empty", "", 0, -1},
    {"short header", "\1\0\0\0\0\0\0", 7, -1},
    {"no fields", "\1\0\0\0\0\0\0\0", 8, 0},
    {"one field", "\1\0\0\0\1\0\0\0ab\0", 11, 0},
    {"unterminated", "\1\0\0\0\1\0\0\0ab", 10, -1},
    {"missing field", "\1\0\0\0\2\0\0\0ab\0", 11, -1},
    {"trailing junk", "\1\0\0\0\1\0\0\0ab\0x", 12, -1},
    {"too many fields", "\1\0\0\0\377\0\0\0", 8, -1},
    {"empty field", "\2\0\0\0\1\0\0\0\0", 9, 0},
};

static void
test_parse_table(void)
{
	for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
		struct ipc_msg m;
		int r = ipc_parse((const unsigned char *)frames[i].bytes,
		                  frames[i].len, &m);

		T_CHECK(r == frames[i].want, "%s: got %d", frames[i].name, r);
	}
}

static void
test_build_limits(void)
{
	unsigned char buf[16];
	const char *f[] = {"12345678"};
	const char *g[] = {"1234567"};

	T_CHECK(ipc_build(buf, sizeof buf, 1, f, 1) == -1, "9+8 > 16");
	T_CHECK(ipc_build(buf, sizeof buf, 1, g, 1) == 16, "8+8 == 16");
}

static void
test_roundtrip_with_fd(void)
{
	int sv[2], p[2];
	unsigned char buf[IPC_FRAME_MAX];
	struct ipc_msg m;
	const char *fields[] = {"admin", "root@example.org", ""};
	char c = 0;

	T_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	T_CHECK(pipe(p) == 0, "pipe");
	T_CHECK(ipc_send(sv[0], IPC_DELIVER, fields, 3, &p[1], 1) == 0, "send");
	T_CHECK(ipc_recv(sv[1], buf, &m) == 1, "recv");
	T_CHECK(m.type == IPC_DELIVER && m.nfields == 3 && m.nfds == 1,
	        "type %u fields %zu fds %zu", m.type, m.nfields, m.nfds);
	T_STREQ(m.field[1], "root@example.org", "field 1");
	T_STREQ(m.field[2], "", "field 2");
	if (m.nfds == 1) {
		T_CHECK(write(m.fds[0], "x", 1) == 1, "write passed fd");
		T_CHECK(read(p[0], &c, 1) == 1 && c == 'x', "read pipe");
		close(m.fds[0]);
	}
	close(sv[0]);
	T_CHECK(ipc_recv(sv[1], buf, &m) == 0, "EOF after close");
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	test_parse_table();
	test_build_limits();
	test_roundtrip_with_fd();
	return T_DONE();
}
