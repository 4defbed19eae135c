#!/usr/bin/env python3
"""The checker's rules on made-up heartbeats, no lab needed (smoke.sh runs it first): a live
migration and a restart are no violation; two boots ticking at once, one boot ticking on two
hosts, and a persisted counter going back are. Also the fence agent's argument handling."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker import Checker  # noqa: E402


class FakeLab:
    def __init__(self, w):
        self.w, self.n, self.guests = w, 3, ["g1"]

    def netns_ino(self, i):
        return None


def feed(seq, qemus=None):
    """seq: per poll, a list of (host, tick, boot, count); returns the violations' kinds. qemus:
    the number of qemu processes of g1 the last scan saw (None: not scanned)."""
    with tempfile.TemporaryDirectory() as w:
        chk = Checker(FakeLab(w), lambda m: None)
        if qemus is not None:
            chk.qemus = {"g1": qemus}
        for p, beats in enumerate(seq):
            for host, tick, boot, count in beats:
                chk.heartbeat(0, p, "g1", host, tick, boot, count)
        return [v[1] for v in chk.violations]


def main():
    fails = []

    def expect(name, got, want):
        if got != want:
            fails.append("%s: got %s, want %s" % (name, got, want))

    run = [[(1, k, "A", k)] for k in range(1, 5)]
    expect("one copy", feed(run), [])
    expect("live migration n1 -> n2", feed(run + [[(2, k, "A", k)] for k in range(5, 9)]), [])
    expect("restart (old boot's last tick in the same poll)",
           feed(run + [[(1, 5, "A", 5), (2, 1, "B", 6)]] + [[(2, k, "B", 5 + k)] for k in range(2, 5)]), [])
    expect("two boots interleave",
           feed(run + [[(2, 1, "B", 5)], [(1, 5, "A", 5)], [(2, 2, "B", 6)], [(1, 6, "A", 6)]]), ["two copies"])
    expect("one boot on two hosts",
           feed(run + [[(2, 5, "A", 5)], [(2, 6, "A", 6)], [(1, 5, "A", 5)]]), ["two copies"])
    # a snapshot restore: the same boot goes on where it was saved (n1 -> n2); a state file older
    # than the guest's last run brings an old tick back, or an old boot after a newer one
    expect("restore of the last save", feed(run + [[], []] + [[(2, k, "A", k)] for k in range(5, 9)], 1), [])
    expect("stale restore, same boot, same host",
           feed(run + [[(1, k, "A", k)] for k in range(5, 9)] + [[], [(1, 3, "A", 9)]], 1), ["stale restore"])
    expect("stale restore of an older boot",
           feed(run + [[(2, 1, "B", 5)], [(2, 2, "B", 6)], [], [(1, 5, "A", 7)]], 1), ["stale restore"])
    # the persisted counter, read from a fake disk
    with tempfile.TemporaryDirectory() as w:
        os.makedirs(os.path.join(w, "guest"))
        chk = Checker(FakeLab(w), lambda m: None)
        chk.scan_qemu = lambda: {"g1": []}
        for c in (5, 6, 4):
            with open(os.path.join(w, "guest", "g1.disk"), "wb") as f:
                f.write(b"\0" * 4096 + b"count=%d boot=X\n" % c)
            chk.poll()
        expect("counter goes back", [v[1] for v in chk.violations], ["lost"])
    agent = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fence_vdlab")
    r = subprocess.run([agent], input="action=metadata\n", capture_output=True, text=True)
    expect("fence_vdlab metadata", (r.returncode, "<resource-agent name=\"fence_vdlab\"" in r.stdout), (0, True))
    r = subprocess.run([agent], input="action=status\nport=n1\nsocket=/nonexistent\n", capture_output=True, text=True)
    expect("fence_vdlab without a switch", (r.returncode, "power switch" in r.stderr), (1, True))
    for f in fails:
        print("selftest: FAIL %s" % f)
    print("selftest: %d checks, %d failed" % (11, len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
