/*
 * conf_expand.c - $name, ${name}, $(name), ${name?text} and ${name:text}
 * expansion of main.cf values, as Postfix's mac_expand does (see
 * conf_impl.h). Runs in every role. The text is untrusted (main.cf, -o):
 * loops, nesting depth, the number of references and the output length
 * are all bounded, so a hostile value costs bounded time and memory.
 */
#include "conf_impl.h"
#include "util/str.h"

#include <stdarg.h>
#include <string.h>

struct xstate {
	const struct conf *c;
	struct conf_xinfo *xi;
	char *out;
	size_t cap, len;
	const char *stack[CONF_EXPAND_DEPTH + 1]; /* names being expanded */
	size_t depth;
	unsigned refs;
	int nest; /* ${name?...} levels */
	int failed;
};

static void expand_text(struct xstate *x, const char *s, size_t n);

static int
isname(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_';
}

static void fail(struct xstate *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct xstate *x, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	if (vsnprintf(x->xi->why, sizeof x->xi->why, fmt, ap) < 0)
		(void)str_copy(x->xi->why, sizeof x->xi->why, "bad $name");
	va_end(ap);
}

static void
put(struct xstate *x, const char *s, size_t n)
{
	if (x->failed)
		return;
	if (n >= x->cap - x->len) {
		fail(x, "expands to more than %zu bytes", x->cap - 1);
		return;
	}
	memcpy(x->out + x->len, s, n);
	x->len += n;
	x->out[x->len] = '\0';
}

/* The text $name stands for; NULL when nothing defines it. */
static const char *
lookup(const struct xstate *x, const char *name)
{
	const struct conf_param *p = conf_param_find(name);

	if (p)
		return conf_text(x->c, conf_index(p));
	return conf_unknown_value(x->c, name);
}

static void
fail_loop(struct xstate *x, const char *name)
{
	char path[160] = "";

	for (size_t i = 0; i < x->depth; i++) {
		(void)str_append(path, sizeof path, x->stack[i]);
		(void)str_append(path, sizeof path, " -> ");
	}
	(void)str_append(path, sizeof path, name);
	fail(x, "$%s refers back to itself (%s)", name, path);
}

static void
ref(struct xstate *x, const char *s, size_t n)
{
	char name[CONF_NAME_MAX];
	const char *v;

	if (++x->refs > CONF_EXPAND_REFS) {
		fail(x, "more than %d $name references", CONF_EXPAND_REFS);
		return;
	}
	if (str_copy_n(name, sizeof name, s, n) < 0) {
		if (!x->xi->undef[0])
			(void)str_copy(x->xi->undef, sizeof x->xi->undef, name);
		return;
	}
	for (size_t i = 0; i < x->depth; i++)
		if (strcmp(x->stack[i], name) == 0) {
			fail_loop(x, name);
			return;
		}
	if (x->depth >= CONF_EXPAND_DEPTH) {
		fail(x, "$name nested more than %d levels deep",
		     CONF_EXPAND_DEPTH);
		return;
	}
	v = lookup(x, name);
	if (!v) {
		if (!x->xi->undef[0])
			(void)str_copy(x->xi->undef, sizeof x->xi->undef, name);
		return;
	}
	x->stack[x->depth++] = name; /* name outlives the recursion */
	expand_text(x, v, strlen(v));
	x->depth--;
}

/* Index of the close that matches the open before s[i], or n. */
static size_t
matching(const char *s, size_t n, size_t i, char open, char close)
{
	int level = 1;

	for (; i < n; i++) {
		if (s[i] == open)
			level++;
		else if (s[i] == close && --level == 0)
			return i;
	}
	return n;
}

static size_t
skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* Postfix 3's braced forms inside ${name?...}: "{a}" or "{a}:{b}".
 * s[0..n) is what follows the operator; a and b get the brace contents
 * (b[1] = 0 without an else part). 0, 1 for the plain form, or -1. */
static int
braced(const char *s, size_t n, size_t a[2], size_t b[2])
{
	size_t i = skip_ws(s, n, 0), close;

	b[0] = b[1] = 0;
	if (i >= n || s[i] != '{')
		return 1;
	close = matching(s, n, i + 1, '{', '}');
	if (close >= n)
		return -1;
	a[0] = i + 1;
	a[1] = close - i - 1;
	i = skip_ws(s, n, close + 1);
	if (i < n && s[i] == ':') {
		i = skip_ws(s, n, i + 1);
		if (i >= n || s[i] != '{' ||
		    (close = matching(s, n, i + 1, '{', '}')) >= n)
			return -1;
		b[0] = i + 1;
		b[1] = close - i - 1;
		i = skip_ws(s, n, close + 1);
	}
	return i == n ? 0 : -1;
}

/* ${name?text} (text when $name is not empty), ${name:text} (when it
 * is), and the braced forms. s[j..k) is the name, s[k] the operator.
 * Returns the next index. */
static size_t
conditional(struct xstate *x, const char *s, size_t n, size_t j, size_t k,
            char open, char close)
{
	size_t end = matching(s, n, k + 1, open, close), a[2], b[2];
	const char *in = s + k + 1, *v = NULL;
	char name[CONF_NAME_MAX];
	int form, yes;

	if (end >= n) {
		fail(x, "unterminated \"$%c\" (no \"%c\")", open, close);
		return n;
	}
	if ((form = braced(in, end - k - 1, a, b)) < 0) {
		fail(x, "expected ${name?{text}:{text}} or ${name?text}");
		return n;
	}
	if (form == 1) {
		a[0] = 0;
		a[1] = end - k - 1;
	}
	if (++x->refs > CONF_EXPAND_REFS) {
		fail(x, "more than %d $name references", CONF_EXPAND_REFS);
		return n;
	}
	if (str_copy_n(name, sizeof name, s + j, k - j) >= 0)
		v = lookup(x, name);
	yes = (s[k] == '?') == (v != NULL && *v != '\0');
	if (++x->nest > CONF_EXPAND_DEPTH)
		fail(x, "${name?...} nested more than %d levels deep",
		     CONF_EXPAND_DEPTH);
	else if (yes)
		expand_text(x, in + a[0], a[1]);
	else
		expand_text(x, in + b[0], b[1]);
	x->nest--;
	return end + 1;
}

/* s[i] is '$'. Returns the index after what it introduced. */
static size_t
dollar(struct xstate *x, const char *s, size_t n, size_t i)
{
	size_t j = i + 1, k;
	char open, close;

	if (j < n && isname(s[j])) {
		for (k = j; k < n && isname(s[k]); k++)
			;
		ref(x, s + j, k - j);
		return k;
	}
	if (j >= n || (s[j] != '{' && s[j] != '(')) {
		put(x, "$", 1); /* "$$" is one '$'; a lone '$' stays */
		return j < n && s[j] == '$' ? j + 1 : j;
	}
	open = s[j];
	close = open == '{' ? '}' : ')';
	for (k = ++j; k < n && isname(s[k]); k++)
		;
	if (k >= n) {
		fail(x, "unterminated \"$%c\" (no \"%c\")", open, close);
		return n;
	}
	if (k == j) {
		fail(x, "\"$%c\" without a parameter name", open);
		return n;
	}
	if (s[k] == close) {
		ref(x, s + j, k - j);
		return k + 1;
	}
	if (s[k] == '?' || s[k] == ':')
		return conditional(x, s, n, j, k, open, close);
	fail(x, "unexpected \"%c\" in \"$%c%.*s\"", s[k], open, (int)(k - j),
	     s + j);
	return n;
}

static void
expand_text(struct xstate *x, const char *s, size_t n)
{
	size_t i = 0;

	/* loop invariant: s[0..i) has been expanded into x->out */
	while (i < n && !x->failed) {
		const char *d = memchr(s + i, '$', n - i);
		size_t k = d ? (size_t)(d - (s + i)) : n - i;

		put(x, s + i, k);
		i += k;
		if (i < n)
			i = dollar(x, s, n, i);
	}
}

int
conf_expand(const struct conf *c, const char *self, const char *text, char *out,
            size_t cap, struct conf_xinfo *xi)
{
	struct xstate x;

	memset(&x, 0, sizeof x);
	xi->why[0] = '\0';
	xi->undef[0] = '\0';
	x.c = c;
	x.xi = xi;
	x.out = out;
	x.cap = cap;
	out[0] = '\0';
	if (self)
		x.stack[x.depth++] = self;
	expand_text(&x, text, strlen(text));
	return x.failed ? -1 : 0;
}

int
conf_expand_text(const struct conf *c, const char *name, const char *text,
                 char *out, size_t cap)
{
	struct conf_xinfo xi;

	if (conf_expand(c, name, text, out, cap, &xi) == 0)
		return 0;
	(void)str_copy(out, cap, xi.why);
	return -1;
}
