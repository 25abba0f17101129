"""File systems for crash tests of panel.store (CPython only).

MemoryFileSystem: the store's file-system interface over a dict of path ->
bytes, with the semantics of a real one that matter to the store: writes land
at the handle's position (append mode: at the end), "wb" truncates, rename
atomically replaces its target, a missing file raises OSError(ENOENT),
a parent directory must exist. It is fast enough to crash a store thousands
of times.

FaultyFileSystem: wraps any file system with that interface (memory or real)
and counts "fault points": every write call, fsync, rename, remove and mkdir.
At the chosen point it cuts the power: a write lets only its first `tear`
bytes reach the file, any other operation is not done, and PowerCut is raised;
every later call raises PowerCut too (the board is off). Without a cut point it
only counts, and can report every point to a callback with a snapshot of the
memory file system, so a test can rebuild the file state of any cut without
running the sequence again (see crashed_files).

LimitedFileSystem: a MemoryFileSystem that holds at most `capacity` bytes
of file content: a write that does not fit lands as far as it fits and raises
OSError(ENOSPC), as a full flash does; statvfs reports the room left.

LittleFsFileSystem: the same interface over the real LittleFS C code
(littlefs-python, optional), with hooks on every flash program and erase, for
power cuts at the flash level and for measuring what a change really costs.
"""

import errno
import os


class PowerCut(Exception):
    """The simulated power cut; deliberately not an OSError, so nothing in the
    store can mistake it for an ordinary I/O error and carry on."""


def _missing(path):
    return OSError(errno.ENOENT, "No such file or directory", path)


def _parent(path):
    cut = path.rfind("/")
    if cut <= 0:
        return "/"
    return path[:cut]


class _MemoryFile:
    """A handle on one MemoryFileSystem file."""

    def __init__(self, file_system, path, mode):
        self._file_system = file_system
        self._path = path
        self._mode = mode
        self._position = 0
        self._closed = False

    # Reading -----------------------------------------------------------
    def read(self, size=-1):
        self._check()
        content = self._file_system.files[self._path]
        if size is None or size < 0:
            end = len(content)
        else:
            end = min(len(content), self._position + size)
        data = content[self._position : end]
        self._position = max(self._position, end)
        return bytes(data)

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    # Writing -----------------------------------------------------------
    def write(self, data):
        self._check()
        if "r" in self._mode and "+" not in self._mode:
            raise OSError(errno.EBADF, "file not open for writing")
        data = bytes(data)
        content = self._file_system.files[self._path]
        if "a" in self._mode:
            self._position = len(content)
        self._file_system.files[self._path] = splice(content, self._position, data)
        self._position += len(data)
        return len(data)

    def seek(self, offset, whence=0):
        self._check()
        if whence == 1:
            offset += self._position
        elif whence == 2:
            offset += len(self._file_system.files[self._path])
        self._position = offset
        return offset

    def tell(self):
        return self._position

    def flush(self):
        self._check()

    def fileno(self):
        raise OSError(errno.EBADF, "memory file has no descriptor")

    def close(self):
        self._closed = True

    def _check(self):
        if self._closed:
            raise ValueError("I/O operation on closed file")
        if self._path not in self._file_system.files:
            raise OSError(errno.ENOENT, "file removed while open", self._path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def splice(content, position, data):
    """content with data written at position (zero-filled if past the end)."""
    if position > len(content):
        content = content + bytes(position - len(content))
    return content[:position] + data + content[position + len(data) :]


class MemoryFileSystem:
    """The store's file-system interface over a dict (path -> bytes)."""

    def __init__(self, files=None, directories=None):
        self.files = dict(files or {})
        self.directories = set(directories or ("/",))

    def open(self, path, mode):
        if "b" not in mode:
            raise ValueError("the store opens files in binary mode")
        if not self._directory_exists(_parent(path)):
            raise _missing(path)
        if "w" in mode:
            self.files[path] = b""
        elif "a" in mode:
            self.files.setdefault(path, b"")
        elif path not in self.files:
            raise _missing(path)
        return _MemoryFile(self, path, mode)

    def rename(self, old_path, new_path):
        if old_path not in self.files or not self._directory_exists(_parent(new_path)):
            raise _missing(old_path)
        self.files[new_path] = self.files.pop(old_path)

    def remove(self, path):
        if path not in self.files:
            raise _missing(path)
        del self.files[path]

    def stat(self, path):
        if path in self.files:
            size = len(self.files[path])
            return (0o100644, 0, 0, 1, 0, 0, size, 0, 0, 0)
        if path in self.directories:
            return (0o040755, 0, 0, 1, 0, 0, 0, 0, 0, 0)
        raise _missing(path)

    def listdir(self, path):
        if path not in self.directories:
            raise _missing(path)
        prefix = path.rstrip("/") + "/"
        names = [name[len(prefix) :] for name in self.files if name.startswith(prefix)]
        names += [
            name[len(prefix) :]
            for name in self.directories
            if name.startswith(prefix) and name != path
        ]
        return sorted(name for name in names if "/" not in name)

    def mkdir(self, path):
        if path in self.directories or path in self.files:
            raise OSError(errno.EEXIST, "File exists", path)
        if not self._directory_exists(_parent(path)):
            raise _missing(path)
        self.directories.add(path)

    def fsync(self, handle):
        handle.flush()

    def _directory_exists(self, path):
        return path in self.directories


class LimitedFileSystem(MemoryFileSystem):
    """A MemoryFileSystem of `capacity` bytes of file content (see above)."""

    def __init__(self, capacity, files=None, directories=None):
        super().__init__(files, directories)
        self.capacity = capacity
        self.refused = 0

    def used(self):
        return sum(len(content) for content in self.files.values())

    def open(self, path, mode):
        handle = super().open(path, mode)
        return _LimitedFile(self, handle)

    def statvfs(self, path):
        # (bsize, frsize, blocks, bfree, bavail, ...): one-byte blocks.
        free = max(0, self.capacity - self.used())
        return (1, 1, self.capacity, free, free, 0, 0, 0, 0, 255)


class _LimitedFile:
    def __init__(self, file_system, inner):
        self._file_system = file_system
        self._inner = inner

    def write(self, data):
        data = bytes(data)
        file_system = self._file_system
        content = file_system.files.get(self._inner._path, b"")
        position = len(content) if "a" in self._inner._mode else self._inner.tell()
        growth = max(0, position + len(data) - len(content))
        room = file_system.capacity - file_system.used()
        if growth > room:
            fits = max(0, len(data) - (growth - room))
            if fits:
                self._inner.write(data[:fits])
            file_system.refused += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._inner.write(data)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._inner.close()
        return False


class FaultyFileSystem:
    """Counts fault points of an inner file system and cuts the power at one.

    cut_at: index (0-based) of the fault point where the power goes, or None.
    tear: for a write cut, how many of its bytes reach the file (0..len-1).
    on_point: optional callback(point) called before each fault point runs,
    with a dict: index, kind ("write", "fsync", "rename", "remove", "mkdir"),
    path, and for writes position and data.
    """

    def __init__(self, inner, cut_at=None, tear=0, on_point=None):
        self.inner = inner
        self.cut_at = cut_at
        self.tear = tear
        self.on_point = on_point
        self.points = 0
        self.bytes_written = 0
        self.powered = True

    def _point(self, kind, path, handle=None, data=None):
        """Register one fault point; True when the power goes at it."""
        if not self.powered:
            raise PowerCut("power is off")
        index = self.points
        self.points += 1
        if self.on_point is not None:
            point = {"index": index, "kind": kind, "path": path}
            if kind == "write":
                point["position"] = handle.write_position()
                point["data"] = bytes(data)
            self.on_point(point)
        if self.cut_at is not None and index == self.cut_at:
            self.powered = False
            return True
        return False

    def _alive(self):
        if not self.powered:
            raise PowerCut("power is off")

    def open(self, path, mode):
        self._alive()
        return _FaultyHandle(self, self.inner.open(path, mode), path, mode)

    def rename(self, old_path, new_path):
        if self._point("rename", old_path + " -> " + new_path):
            raise PowerCut("cut at rename")
        self.inner.rename(old_path, new_path)

    def remove(self, path):
        if self._point("remove", path):
            raise PowerCut("cut at remove")
        self.inner.remove(path)

    def stat(self, path):
        self._alive()
        return self.inner.stat(path)

    def listdir(self, path):
        self._alive()
        return list(self.inner.listdir(path))

    def mkdir(self, path):
        if self._point("mkdir", path):
            raise PowerCut("cut at mkdir")
        self.inner.mkdir(path)

    def fsync(self, handle):
        if self._point("fsync", handle.path):
            raise PowerCut("cut at fsync")
        self.inner.fsync(handle.inner)


class _FaultyHandle:
    def __init__(self, file_system, inner, path, mode):
        self.file_system = file_system
        self.inner = inner
        self.path = path
        self.mode = mode

    def write_position(self):
        if "a" in self.mode:
            return None  # at the end, whatever the end is then
        return self.inner.tell()

    def write(self, data):
        file_system = self.file_system
        if file_system._point("write", self.path, self, data):
            torn = bytes(data)[: file_system.tear]
            if torn:
                self.inner.write(torn)
                # A real file system may still hold them in a buffer.
                if hasattr(self.inner, "flush"):
                    self.inner.flush()
            raise PowerCut("cut in a write after %d of %d bytes" % (len(torn), len(data)))
        file_system.bytes_written += len(data)
        return self.inner.write(data)

    def read(self, *args):
        self.file_system._alive()
        return self.inner.read(*args)

    def readinto(self, buffer):
        self.file_system._alive()
        return self.inner.readinto(buffer)

    def seek(self, *args):
        self.file_system._alive()
        return self.inner.seek(*args)

    def tell(self):
        return self.inner.tell()

    def flush(self):
        self.file_system._alive()
        self.inner.flush()

    def fileno(self):
        return self.inner.fileno()

    def close(self):
        # Closing after the cut is harmless: the state is what it was.
        if self.file_system.powered:
            self.inner.close()
        else:
            try:
                self.inner.close()
            except (OSError, ValueError):
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def crashed_files(snapshot, point, tear):
    """The files of a MemoryFileSystem after a power cut at `point` (as given to
    on_point) with `tear` bytes of a cut write reaching the file, from the
    `snapshot` (dict path -> bytes) taken just before that point ran."""
    files = dict(snapshot)
    if point["kind"] == "write" and tear:
        path = point["path"]
        content = files[path]
        position = point["position"]
        if position is None:
            position = len(content)
        files[path] = splice(content, position, point["data"][:tear])
    return files


def tear_offsets(length, every_up_to=160, edge=24, middle=16):
    """Byte counts at which to tear a write of `length` bytes: all of them for
    short writes, else the first and last `edge` and `middle` spread between."""
    if length <= every_up_to:
        return list(range(length))
    offsets = set(range(edge)) | set(range(length - edge, length))
    step = (length - 2 * edge) / (middle + 1)
    for number in range(1, middle + 1):
        offsets.add(edge + int(step * number))
    return sorted(offsets)


def remove_tree(path):
    if not os.path.exists(path):
        return
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isdir(full):
            remove_tree(full)
        else:
            os.remove(full)
    os.rmdir(path)


class _LittleFsHandle:
    """A littlefs-python file whose errors come out as OSError with the
    errno MicroPython's VfsLfs2 gives (ENOSPC when full), as on a board."""

    def __init__(self, file_system, inner):
        self.file_system = file_system
        self.inner = inner
        self.fs = inner.fs
        self.fh = inner.fh

    def write(self, data):
        return self.file_system._call(self.inner.write, data)

    def read(self, *args):
        return self.file_system._call(self.inner.read, *args)

    def readinto(self, buffer):
        return self.file_system._call(self.inner.readinto, buffer)

    def seek(self, *args):
        return self.file_system._call(self.inner.seek, *args)

    def tell(self):
        return self.inner.tell()

    def flush(self):
        return self.file_system._call(self.inner.flush)

    def close(self):
        return self.file_system._call(self.inner.close)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class LittleFsFileSystem:
    """The store's file-system interface over littlefs-python: the same C
    LittleFS as MicroPython's VfsLfs2, configured as MicroPython configures it
    on an ESP32 (read/prog size 32, cache 128, lookahead 32, block_cycles 100,
    4 KiB blocks) on a RAM image. `on_prog(block, offset, data)` and
    `on_erase(block)`, when given, see every flash operation before it runs
    (raise from them to cut the power there). Optional: needs the
    littlefs-python package (pip install littlefs-python)."""

    BLOCK_SIZE = 4096

    def __init__(self, blocks, image=None, on_prog=None, on_erase=None):
        import littlefs

        outer = self

        class Context(littlefs.UserContext):
            def prog(self, cfg, block, offset, data):
                outer.programmed += len(data)
                if outer.on_prog is not None:
                    outer.on_prog(block, offset, data)
                return super().prog(cfg, block, offset, data)

            def erase(self, cfg, block):
                outer.erased += cfg.block_size
                if outer.on_erase is not None:
                    outer.on_erase(block)
                return super().erase(cfg, block)

        self.programmed = 0
        self.erased = 0
        self.on_prog = on_prog
        self.on_erase = on_erase
        self._errors = littlefs.LittleFSError
        if image is None:
            context = Context(buffsize=self.BLOCK_SIZE * blocks)
        else:
            context = Context(buffer=image)
        self.image = context.buffer
        # A new image is formatted; an existing one must mount as it is
        # (littlefs-python would otherwise format an image it cannot mount).
        self.lfs = littlefs.LittleFS(
            context=context,
            block_size=self.BLOCK_SIZE,
            block_count=blocks,
            read_size=32,
            prog_size=32,
            cache_size=128,
            lookahead_size=32,
            block_cycles=100,
            mount=image is None,
        )
        if image is not None:
            self.lfs.mount()

    def _call(self, function, *args):
        try:
            return function(*args)
        except self._errors as error:
            if error.code == self._errors.Error.LFS_ERR_NOENT:
                raise OSError(errno.ENOENT, "No such file or directory") from error
            if error.code == self._errors.Error.LFS_ERR_NOSPC:
                raise OSError(errno.ENOSPC, "No space left on device") from error
            raise OSError(errno.EIO, "littlefs error %d" % error.code) from error
        except FileNotFoundError as error:
            raise OSError(errno.ENOENT, "No such file or directory") from error

    def open(self, path, mode):
        from littlefs import FileHandle, lfs

        if "a" in mode:
            # MicroPython opens "a" as LFS_O_WRONLY | LFS_O_CREAT | LFS_O_APPEND;
            # littlefs-python's "a" does not create, so pass the flags.
            flags = lfs.LFSFileFlag.wronly | lfs.LFSFileFlag.creat | lfs.LFSFileFlag.append
            handle = self._call(lfs.file_open, self.lfs.fs, path, flags)
            return _LittleFsHandle(self, FileHandle(self.lfs.fs, handle))
        return _LittleFsHandle(self, self._call(self.lfs.open, path, mode, 0))

    def rename(self, old_path, new_path):
        self._call(self.lfs.rename, old_path, new_path)

    def remove(self, path):
        self._call(self.lfs.remove, path)

    def stat(self, path):
        info = self._call(self.lfs.stat, path)
        return (0o040000 if info.type == 2 else 0o100000, 0, 0, 0, 0, 0, info.size)

    def listdir(self, path):
        return self._call(self.lfs.listdir, path)

    def mkdir(self, path):
        self._call(self.lfs.mkdir, path)

    def fsync(self, handle):
        from littlefs import lfs

        handle = getattr(handle, "inner", handle)
        self._call(lfs.file_sync, handle.fs, handle.fh)

    def blocks_used(self):
        return self.lfs.used_block_count
