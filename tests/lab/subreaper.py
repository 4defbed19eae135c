#!/usr/bin/python3
"""Run CMD as the child of a child subreaper that reaps every orphan at once.

usage: subreaper.py CMD [ARG...]

Why: PID 1 on these lab machines is not a real init and reaps orphans only after 1-2 s.
qemu is an orphan (libvirtd double-forks it) and libvirt reports a domain shut off only
once kill(qemu_pid, 0) fails, i.e. once the zombie is gone. Daemons started through this
wrapper (and everything they double-fork) are re-parented here and reaped immediately.

Exits when no descendant is left, with CMD's own exit status.
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.stderr.write("usage: subreaper.py CMD [ARG...]\n")
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        sys.stderr.write("subreaper: prctl failed: %s\n" % os.strerror(err))
        return 1
    # Hangups and ^C of whoever started us must not end the reaping.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            sys.stderr.write("subreaper: %s: %s\n" % (argv[0], e.strerror))
        os._exit(127)
    status = 0
    while True:
        try:
            done, st = os.wait()          # blocks; returns for the child and every orphan
        except ChildProcessError:         # nothing left to wait for
            return status
        if done == pid:
            code = os.waitstatus_to_exitcode(st)
            status = code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
