#!/usr/bin/env bash
# ocf-tester (resource-agents) against the installed ocf:rust:VirtualDomain
# with a tiny real qemu guest. Prints ocf-tester's verdict; exit 0 only if
# it "passed all tests".
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=${AGENT:-/usr/lib/ocf/resource.d/rust/VirtualDomain}
WORK=/srv/vd-ocftester NAME=vdt-ocftester
mkdir -p "$WORK"; chmod 755 /srv "$WORK"
xml=$(bash tests/lab/make-guest.sh "$NAME" "$WORK" obey)
cleanup() { timeout 30 virsh -q -c qemu:///system destroy "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
out=$(timeout 300 ocf-tester -n "rsc-$NAME" -o config="$xml" -o hypervisor=qemu:///system "$AGENT" 2>&1) || true
echo "$out" | tail -n 3
echo "$out" | grep -q "passed all tests"
