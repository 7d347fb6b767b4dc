"""Writing a file whole: for the facts cache, the compiled config, the bypass, the
activation state and the metrics file alike."""
import os


def write_atomic(path, text, mode=0o644):
    """Write text to path so readers see the old file or the new one, never a torn one:
    a temp file in the same directory, fsync, rename. (No fsync of the directory: after a
    crash the rename may be lost, leaving the previous complete cache, which the next
    refresh replaces; that saves a sync on every refresh.)"""
    import tempfile  # writers only: the hook, which only reads, never pays for it
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(path) + "-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        os.rename(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
