# The file system the store writes through, as an object handed to it: the
# default one below goes to the real files (LittleFS on the board, a directory
# on the host); tests hand in one that cuts the power at a chosen write.
#
# Interface (duck-typed): open(path, mode), rename(old, new), remove(path),
# stat(path), listdir(path), mkdir(path), fsync(handle), and optionally
# statvfs(path) (free space for the store's health report). Handles returned by
# open() need read, write, seek, close. A missing file raises OSError with
# errno 2 (ENOENT) from open/stat/remove/rename.
import os

from panel.compat import ENOENT, error_number, fsync_directory
from panel.compat import fsync as _fsync


def is_missing(error):
    """True when an OSError says the file does not exist (compat.error_number
    also knows the WebAssembly port's numbering)."""
    return error_number(error) == ENOENT


class OsFileSystem:
    """The store's file system over `os` and the builtin open()."""

    def open(self, path, mode):
        return open(path, mode)

    def rename(self, old_path, new_path):
        # POSIX rename and LittleFS lfs_rename both replace new_path atomically.
        os.rename(old_path, new_path)
        self._sync_directory(new_path)

    def remove(self, path):
        os.remove(path)
        self._sync_directory(path)

    def stat(self, path):
        return os.stat(path)

    def listdir(self, path):
        # ilistdir (MicroPython) yields names one by one instead of building a
        # list of every file name on a small heap.
        if hasattr(os, "ilistdir"):
            return (entry[0] for entry in os.ilistdir(path))
        return os.listdir(path)

    def mkdir(self, path):
        os.mkdir(path)
        self._sync_directory(path)

    def fsync(self, handle):
        _fsync(handle)

    def statvfs(self, path):
        # MicroPython boards and POSIX hosts have it; the same tuple order
        # (index 1 fragment size, 4 blocks free to us) on both.
        return os.statvfs(path)

    def _sync_directory(self, path):
        # On POSIX a rename/unlink is durable only once the directory is
        # fsync'd; LittleFS commits directory changes itself (compat knows
        # which runtime needs what).
        cut = path.rfind("/")
        directory = path[:cut] if cut > 0 else ("/" if cut == 0 else ".")
        fsync_directory(directory)
