#!/usr/bin/env bash
# Wall time of `idmapkit probe --all` (a whole process: start, one user
# namespace, a detached clone per mount) against a process that only
# lists the mount table, findmnt(8), in the same run. Also checks that the
# mount table and the loop devices are the same afterwards.
#
#   bash bench/probe.sh [N]
#
# Needs root. Prints milliseconds per run and the ratio to findmnt.
set -euo pipefail
n=${1:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags urfave_cli_no_docs -o "$work/idmapkit" "$root/cmd/idmapkit"
bin="$work/idmapkit"

ms() { local s e; s=$(date +%s%N); "$@"; e=$(date +%s%N); echo $(((e - s) / 1000)); }
loop() { for ((i = 0; i < n; i++)); do "$@" >/dev/null; done; }
loop1() { "$@" >/dev/null; }
per() { echo "$1 / $n / 1000" | bc -l; }

before=$(cat /proc/self/mountinfo; losetup -a)
loop "$bin" probe --all # warm up
mounts=$(findmnt --list --noheadings | wc -l)
all=$(ms loop "$bin" probe --all)
nfd=$(ms loop "$bin" probe --all --format nfd)
ref=$(ms loop findmnt --list)
matrix=$(ms loop1 "$bin" probe --matrix)
after=$(cat /proc/self/mountinfo; losetup -a)

echo "$mounts mounts, $n runs each"
printf "%-42s %8.3f ms/run\n" "idmapkit probe --all" "$(per "$all")"
printf "%-42s %8.3f ms/run\n" "idmapkit probe --all --format nfd (+kernel)" "$(per "$nfd")"
printf "%-42s %8.3f ms/run\n" "findmnt --list (reference)" "$(per "$ref")"
printf "%-42s %8.3f ms (once)\n" "idmapkit probe --matrix" "$(echo "$matrix / 1000" | bc -l)"
printf "ratio probe --all / findmnt: %.2f\n" "$(echo "$all / $ref" | bc -l)"
if [ "$before" != "$after" ]; then
	echo "the mount table or the loop devices changed" >&2
	exit 1
fi
