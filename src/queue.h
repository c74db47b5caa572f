/*
 * queue.h - the queue directory (docs/queue-format.md, "Directory
 * layout"): its subdirectories with their owners and modes, paths of queue
 * files, iteration over the IDs of one queue, moves between queues and
 * quarantine of damaged files in corrupt/.
 */
#ifndef TINYMTA_QUEUE_H
#define TINYMTA_QUEUE_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

#include "qfile.h"

#define QUEUE_DIR_MAX 400  /* queue_directory */
#define QUEUE_PATH_MAX 512 /* queue_directory/queue/ID */

enum queue_name {
	QUEUE_MAILDROP,
	QUEUE_INCOMING,
	QUEUE_ACTIVE,
	QUEUE_DEFERRED,
	QUEUE_HOLD,
	QUEUE_CORRUPT,
	QUEUE_N
};

/* "maildrop", "incoming", … indexed by enum queue_name. */
extern const char *const queue_names[QUEUE_N];
/* The index of a queue name, or -1. */
int queue_index(const char *name);

/* Create what is missing under qdir (qdir itself 0755; maildrop/ 1733;
 * incoming active deferred hold corrupt/ 0700; public/ 0711, all owned
 * by uid:gid; pid/ 0755 owned by root). As root, existing directories get
 * their owner and mode fixed; as another user (development mode) every
 * directory is that user's and only modes of directories it owns are
 * fixed. Refuses symbolic links and non-directories. Logs what it creates
 * or fixes and, on failure, what failed. 0, or -1 with errno. */
int queue_init(const char *qdir, uid_t uid, gid_t gid);

/* qdir/queue/id (id NULL: the directory) into out[cap]. The ID must pass
 * qfile_id_valid and the queue name may not hold '/'. 0, or -1 with errno
 * EINVAL or ENAMETOOLONG. */
int queue_path(char *out, size_t cap, const char *qdir, const char *queue,
               const char *id);

struct queue_iter {
	DIR *d;
	const char *queue;
};

/* Iterate over the queue IDs in one queue directory, in directory order.
 * Names starting with '.' (temporary files) are skipped; other names that
 * are not queue IDs are skipped with a warning. open: 0 or -1 (errno).
 * next: 1 with id filled, 0 at the end, -1 on error (errno). */
int queue_iter_open(struct queue_iter *it, const char *qdir, const char *queue);
int queue_iter_next(struct queue_iter *it, char id[QFILE_ID_MAX]);
void queue_iter_close(struct queue_iter *it);

/* Rename qdir/from/id to qdir/to/id, never replacing a file. The caller
 * fsyncs the directories (queue_sync) when it needs durability. */
int queue_move(const char *qdir, const char *from, const char *to,
               const char *id);
/* Move a damaged file to corrupt/ and log "ID: moved from QUEUE to
 * corrupt/: WHY". Never for a file of a newer version (QFILE_ERR_VERSION):
 * those are left alone and reported. 0 or -1. */
int queue_quarantine(const char *qdir, const char *from, const char *id,
                     const char *why);
/* fsync the directory qdir/queue. */
int queue_sync(const char *qdir, const char *queue);
/* The first of the n queues (indexes into queue_names) that holds id:
 * its index; -1 with errno ENOENT when none has it, or another errno
 * (EACCES) when a queue could not be searched. */
int queue_find(const char *qdir, const char *id, const int *queues, size_t n);

#endif
