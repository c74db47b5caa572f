/*
 * cmd_sendmail_input.c - sendmail's reader of the message on standard
 * input: bounded pieces, CRLF to LF (a lone CR is kept), a final LF added
 * when missing, the lone "." line that ends the message unless -i, NUL
 * bytes reported with their line number. Runs as the invoking user; the
 * input is untrusted and never held whole: memory is SM_IN_BUF.
 */
#include "cmd_sendmail.h"
#include "util/io.h"

#include <string.h>

void
sm_in_init(struct sm_in *in, int fd, int dots)
{
	in->fd = fd;
	in->dots = dots;
	in->eof = 0;
	in->ended = 0;
	in->bol = 1;
	in->line = 0;
	in->off = in->len = 0;
}

/* Move the unread bytes to the front and read more: 1, 0 at EOF, -1. */
static int
fill(struct sm_in *in)
{
	ssize_t r;

	if (in->off > 0) {
		memmove(in->buf, in->buf + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	r = io_read(in->fd, in->buf + in->len, SM_IN_BUF - in->len);
	if (r < 0)
		return -1;
	if (r == 0) {
		in->eof = 1;
		return 0;
	}
	in->len += (size_t)r;
	return 1;
}

/* Length of the next piece at in->off, and whether it ends a line; 0 at
 * the end of input, -1 on a read error. */
static int
next_piece(struct sm_in *in, size_t *n, int *eol)
{
	/* loop invariant: off <= len <= SM_IN_BUF (+1 after the final LF) */
	for (;;) {
		char *s = in->buf + in->off;
		size_t avail = in->len - in->off;
		char *lf = memchr(s, '\n', avail);

		if (lf) {
			*n = (size_t)(lf - s) + 1;
			*eol = 1;
			return 1;
		}
		if (in->eof && avail == 0)
			return 0;
		if (in->eof) {
			s[avail] = '\n'; /* the final line had none */
			in->len++;
			continue;
		}
		if (avail == SM_IN_BUF) {
			/* a long line: keep a trailing CR for its LF */
			*n = s[avail - 1] == '\r' ? avail - 1 : avail;
			*eol = 0;
			return 1;
		}
		if (fill(in) < 0)
			return -1;
	}
}

int
sm_in_next(struct sm_in *in, const char **p, size_t *n, int *eol)
{
	char *s;
	int r, bol = in->bol;

	if (in->ended)
		return SM_IN_END;
	r = next_piece(in, n, eol);
	if (r <= 0) {
		in->ended = 1;
		return r < 0 ? SM_IN_ERR : SM_IN_END;
	}
	s = in->buf + in->off;
	in->off += *n;
	in->bol = *eol;
	if (bol)
		in->line++;
	if (*eol && *n >= 2 && s[*n - 2] == '\r') {
		s[*n - 2] = '\n';
		(*n)--;
	}
	*p = s;
	if (bol && *eol && in->dots && *n == 2 && s[0] == '.') {
		in->ended = 1;
		return SM_IN_END;
	}
	return memchr(s, '\0', *n) ? SM_IN_NUL : SM_IN_PIECE;
}
