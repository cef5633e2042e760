// powerloss.so: an LD_PRELOAD shim that records, for every file under $POWERLOSS_DIR, how
// much of it is durable, so that a test can later cut the power: SIGKILL the process, then
// truncate each file to what was fsynced (test/powerloss/journal.ts, README.md).
//
// Why a shim: kill -9 keeps the kernel's page cache, so writes that were never fsynced survive it
// and a node run with --unsafe-no-fsync loses nothing (DESIGN.md §6 asks the fault tests to catch
// exactly that loss). The shim watches the calls that make data durable and appends one journal
// record per durable event to $POWERLOSS_JOURNAL:
//
//   S <tab> size <tab> path   fsync/fdatasync on a regular file succeeded; fstat size at that time
//   T <tab> path              opened with truncation (O_TRUNC, fopen "w"): durable size is 0 again
//   R <tab> from <tab> to     rename succeeded: the durable size follows the file
//   U <tab> path              unlink succeeded: the file and its durable size are gone
//   X <tab> message           the shim could not follow a file: the journal cannot be trusted
//
// Every record is ONE write() on an O_APPEND descriptor, so a SIGKILL never leaves half a record
// (the reader still drops an unterminated last line). A sync is journalled only after it returned
// 0, so a kill between the two makes the model lose more, never less, than the kernel would.
//
// Intercepted: exactly the file calls classic-level 3's prebuilt LevelDB 1.20 imports (checked by
// the test with `nm -D`): open, open64, fopen, fopen64, fclose, close, fsync, fdatasync, rename,
// unlink. LevelDB writes through stdio (fwrite_unlocked + fflush_unlocked) and syncs with
// fdatasync(fileno(f)), so the size is read after its fflush. Everything else passes through.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Descriptors at or above this are not tracked; one under the watched directory is reported
// with an X record instead of being silently ignored.
#define TRACKED_FDS_MAX 65536
// A journal record: kind, two paths, a size, separators.
#define RECORD_BYTES_MAX (2 * PATH_MAX + 64)

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static FILE *(*real_fopen)(const char *, const char *);
static FILE *(*real_fopen64)(const char *, const char *);
static int (*real_fclose)(FILE *);
static int (*real_close)(int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_unlink)(const char *);

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
static char *watched_dir = NULL; // no trailing slash; NULL: pass everything through
static size_t watched_len = 0;
static int journal_fd = -1;
static char *fd_paths[TRACKED_FDS_MAX]; // fd -> absolute path of a watched file, or NULL

static void *must_dlsym(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (f == NULL) {
    fprintf(stderr, "powerloss.so: dlsym(%s) failed: %s\n", name, dlerror());
    abort();
  }
  return f;
}

static void init(void) {
  real_open = must_dlsym("open");
  real_open64 = must_dlsym("open64");
  real_fopen = must_dlsym("fopen");
  real_fopen64 = must_dlsym("fopen64");
  real_fclose = must_dlsym("fclose");
  real_close = must_dlsym("close");
  real_fsync = must_dlsym("fsync");
  real_fdatasync = must_dlsym("fdatasync");
  real_rename = must_dlsym("rename");
  real_unlink = must_dlsym("unlink");
  const char *dir = getenv("POWERLOSS_DIR");
  const char *journal = getenv("POWERLOSS_JOURNAL");
  if (dir == NULL || dir[0] == '\0') return;
  if (dir[0] != '/' || journal == NULL || journal[0] == '\0') {
    // A half-configured shim would record nothing and make every sync look lost: refuse.
    fprintf(stderr, "powerloss.so: POWERLOSS_DIR must be absolute and POWERLOSS_JOURNAL set\n");
    abort();
  }
  watched_dir = strdup(dir);
  watched_len = strlen(watched_dir);
  while (watched_len > 1 && watched_dir[watched_len - 1] == '/') watched_dir[--watched_len] = '\0';
  journal_fd = real_open(journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (journal_fd < 0) {
    fprintf(stderr, "powerloss.so: cannot open journal %s: %s\n", journal, strerror(errno));
    abort();
  }
}

static void ensure_init(void) {
  pthread_once(&init_once, init);
}

// One record, one write(): appended whole or not at all. A failed journal write would make the
// model lie, so the process stops instead.
static void journal(const char *record, size_t len) {
  int saved = errno;
  ssize_t n = write(journal_fd, record, len);
  if (n != (ssize_t)len) {
    fprintf(stderr, "powerloss.so: journal write failed (%zd of %zu bytes): %s\n", n, len, strerror(errno));
    abort();
  }
  errno = saved;
}

static void journalf(const char *fmt, ...) {
  char record[RECORD_BYTES_MAX];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(record, sizeof record, fmt, ap);
  va_end(ap);
  if (len < 0 || (size_t)len >= sizeof record) {
    static const char too_long[] = "X\trecord too long\n";
    journal(too_long, sizeof too_long - 1);
    return;
  }
  journal(record, (size_t)len);
}

// The absolute form of `path` if it lies under the watched directory (malloc'd), else NULL.
// Paths are not normalised: LevelDB builds them as dbname + "/" + file name.
static char *watched_path(const char *path) {
  if (watched_dir == NULL || path == NULL) return NULL;
  char *abs = NULL;
  if (path[0] == '/') {
    abs = strdup(path);
  } else {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) return NULL;
    if (asprintf(&abs, "%s/%s", cwd, path) < 0) return NULL;
  }
  if (abs == NULL) return NULL;
  if (strncmp(abs, watched_dir, watched_len) == 0 && (abs[watched_len] == '/' || abs[watched_len] == '\0')) {
    if (strpbrk(abs, "\t\n") != NULL) {
      journalf("X\tpath with a tab or newline under %s\n", watched_dir);
      free(abs);
      return NULL;
    }
    return abs;
  }
  free(abs);
  return NULL;
}

// Takes ownership of `abs`.
static void track(int fd, char *abs) {
  if (fd < 0) {
    free(abs);
    return;
  }
  if (fd >= TRACKED_FDS_MAX) {
    journalf("X\tfd %d beyond %d for %s\n", fd, TRACKED_FDS_MAX, abs);
    free(abs);
    return;
  }
  pthread_mutex_lock(&fds_lock);
  free(fd_paths[fd]);
  fd_paths[fd] = abs;
  pthread_mutex_unlock(&fds_lock);
}

static void untrack(int fd) {
  if (fd < 0 || fd >= TRACKED_FDS_MAX) return;
  pthread_mutex_lock(&fds_lock);
  free(fd_paths[fd]);
  fd_paths[fd] = NULL;
  pthread_mutex_unlock(&fds_lock);
}

static void opened(int fd, const char *path, int truncating) {
  char *abs = watched_path(path);
  if (abs == NULL) {
    // The descriptor may have been closed behind our back (inside libc) while it named a
    // watched file: it must not keep that name now that it stands for another file.
    untrack(fd);
    return;
  }
  if (fd >= 0 && truncating) journalf("T\t%s\n", abs);
  track(fd, abs);
}

// After a successful sync: the file's size now is durable.
static void synced(int fd) {
  if (watched_dir == NULL || fd < 0 || fd >= TRACKED_FDS_MAX) return;
  char path[PATH_MAX];
  pthread_mutex_lock(&fds_lock);
  const char *p = fd_paths[fd];
  if (p != NULL) snprintf(path, sizeof path, "%s", p);
  pthread_mutex_unlock(&fds_lock);
  if (p == NULL) return;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    journalf("X\tfstat after sync failed for %s\n", path);
    return;
  }
  // A directory fsync (LevelDB's SyncDirIfManifest) makes names durable, which the model assumes.
  if (!S_ISREG(st.st_mode)) return;
  journalf("S\t%lld\t%s\n", (long long)st.st_size, path);
}

static int open_common(int (*real)(const char *, int, ...), const char *path, int flags, va_list ap) {
  mode_t mode = 0;
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) mode = (mode_t)va_arg(ap, int);
  int fd = real(path, flags, mode);
  if (fd >= 0) opened(fd, path, (flags & O_TRUNC) != 0);
  return fd;
}

int open(const char *path, int flags, ...) {
  ensure_init();
  va_list ap;
  va_start(ap, flags);
  int fd = open_common(real_open, path, flags, ap);
  va_end(ap);
  return fd;
}

int open64(const char *path, int flags, ...) {
  ensure_init();
  va_list ap;
  va_start(ap, flags);
  int fd = open_common(real_open64, path, flags, ap);
  va_end(ap);
  return fd;
}

static FILE *fopen_common(FILE *(*real)(const char *, const char *), const char *path, const char *mode) {
  FILE *f = real(path, mode);
  if (f != NULL) opened(fileno(f), path, mode != NULL && mode[0] == 'w');
  return f;
}

FILE *fopen(const char *path, const char *mode) {
  ensure_init();
  return fopen_common(real_fopen, path, mode);
}

FILE *fopen64(const char *path, const char *mode) {
  ensure_init();
  return fopen_common(real_fopen64, path, mode);
}

int fclose(FILE *f) {
  ensure_init();
  // glibc's fclose closes the descriptor internally, not through close(): forget it here.
  if (f != NULL) untrack(fileno(f));
  return real_fclose(f);
}

int close(int fd) {
  ensure_init();
  untrack(fd);
  return real_close(fd);
}

int fsync(int fd) {
  ensure_init();
  int r = real_fsync(fd);
  if (r == 0) synced(fd);
  return r;
}

int fdatasync(int fd) {
  ensure_init();
  int r = real_fdatasync(fd);
  if (r == 0) synced(fd);
  return r;
}

int rename(const char *from, const char *to) {
  ensure_init();
  int r = real_rename(from, to);
  if (r != 0) return r;
  char *f = watched_path(from);
  char *t = watched_path(to);
  if (f != NULL || t != NULL) journalf("R\t%s\t%s\n", f != NULL ? f : "-", t != NULL ? t : "-");
  free(f);
  free(t);
  return r;
}

int unlink(const char *path) {
  ensure_init();
  int r = real_unlink(path);
  if (r != 0) return r;
  char *p = watched_path(path);
  if (p != NULL) journalf("U\t%s\n", p);
  free(p);
  return r;
}
