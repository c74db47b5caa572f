/*
 * io.h - system-call wrappers that retry on EINTR and report failure as
 * -1 with errno set (the caller says what failed, with strerror(errno)).
 */
#ifndef TINYMTA_UTIL_IO_H
#define TINYMTA_UTIL_IO_H

#include <stddef.h>
#include <sys/types.h>

int io_open(const char *path, int flags, mode_t mode);
int io_close(int fd);
/* Write all len bytes; -1 on error. */
int io_write_all(int fd, const void *buf, size_t len);
/* Write all bytes of v[0..n-1] (modified as it goes); -1 on error. */
struct iovec;
int io_writev_all(int fd, struct iovec *v, int n);
/* One read(2), retried on EINTR: bytes read, 0 at EOF, -1 on error. */
ssize_t io_read(int fd, void *buf, size_t len);
/* Read until len bytes or EOF: bytes read, -1 on error. */
ssize_t io_read_full(int fd, void *buf, size_t len);
/* fsync(2) retried on EINTR. */
int io_fsync(int fd);
/* Open the directory and fsync it (makes a rename durable). */
int io_fsync_dir(const char *dir);
/* Read a whole regular file of at most max bytes into a malloc'd buffer,
 * NUL-terminated (*len excludes the NUL). A larger file: -1, errno EFBIG. */
int io_slurp(const char *path, size_t max, char **out, size_t *len);
/* Count of fsync calls this process made through io_fsync* (figures). */
unsigned long io_fsync_count(void);

#endif
