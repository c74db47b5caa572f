/*
 * qfile_check.h - the one validating parser of queue files, incremental:
 * qfile_check_mem feeds it a whole buffer, qfile_open feeds it the file in
 * chunks (bounded memory whatever the message size). PURE: no I/O, no
 * globals, no logging. Internal to qfile_*.c; see qfile.h for the format.
 */
#ifndef TINYMTA_QFILE_CHECK_H
#define TINYMTA_QFILE_CHECK_H

#include "qfile.h"

/* Largest record payload the parser holds whole ('C' is streamed). */
#define QCHECK_BUF QFILE_RCPT_PAYLOAD_MAX

struct qcheck {
	int st;           /* private: what the next bytes are */
	int stage;        /* private: records seen (order) */
	uint64_t off;     /* bytes consumed */
	uint64_t rec_off; /* offset of the current record */
	uint32_t len;     /* payload length of the current record */
	uint32_t have;    /* bytes of the current unit gathered */
	unsigned char type;
	unsigned char buf[QCHECK_BUF];
	br_sha256_context sha;
	struct qfile_info *info;
	char *where;
	size_t wcap;
	enum qfile_err err;
};

/* Start a check; *info is cleared and filled as records go by; where[]
 * (may be NULL) receives the first problem. */
void qcheck_init(struct qcheck *q, struct qfile_info *info, char *where,
                 size_t wcap);
/* The next n bytes of the file. Bytes after the first problem are ignored. */
void qcheck_feed(struct qcheck *q, const unsigned char *p, size_t n);
/* The end of the file: QFILE_OK or the first problem. */
enum qfile_err qcheck_finish(struct qcheck *q);

/* Little-endian loads shared by the reader. */
uint32_t qcheck_le16(const unsigned char *p);
uint32_t qcheck_le32(const unsigned char *p);
uint64_t qcheck_le64(const unsigned char *p);
/* Store the low n bytes of v little-endian. */
void qcheck_put_le(unsigned char *p, uint64_t v, int n);
/* 1 when the bytes hold no control byte (below 0x20 or 0x7f); TAB is
 * allowed when tab is set. */
int qcheck_text_ok(const unsigned char *p, size_t len, int tab);
/* 1 for a valid NOTIFY byte (QFILE_NOTIFY_*). */
int qcheck_notify_ok(unsigned notify);

#endif
