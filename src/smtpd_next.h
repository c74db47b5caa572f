/*
 * smtpd_next.h - a reusable smtpd waits for its next connection
 * (smtpd_next.c; the master's side: master_smtpd.c).
 */
#ifndef TINYMTA_SMTPD_NEXT_H
#define TINYMTA_SMTPD_NEXT_H

#include <netinet/in.h>

struct smtpd_next {
	char client_addr[INET6_ADDRSTRLEN], client_port[8];
	char server_addr[INET6_ADDRSTRLEN], server_port[8];
};

/* The link to the master (3) when the master gave one, else -1. */
int smtpd_next_link(void);
/* Close the finished connection, report idle, wait up to wait_ms for the
 * next one. 1: it is on descriptors 0 and 1 and *n describes it; 0: the
 * process should exit (link closed, stop request, timeout; logged when
 * something went wrong). */
int smtpd_next(int link, struct smtpd_next *n, int wait_ms);

#endif
