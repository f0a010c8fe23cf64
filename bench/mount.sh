#!/usr/bin/env bash
# Wall time of one `idmapkit mount` + `idmapkit umount` pair, against the
# same pair done by a reference tool, in one private mount namespace.
#
#   bash bench/mount.sh [N]
#
# References, each run N times on the same tmpfs:
#   - a C mount-idmapped + umount(8): MOUNT_IDMAPPED=/path/to/binary (brauner's
#     tool, or any binary taking "--map-mount b:0:100000:65536 SRC DST"), by
#     default bench/mountidmapped.c built here with cc, which makes the
#     same system calls as brauner's tool;
#   - a plain `mount --bind` + umount(8), the floor for any tool that is a
#     separate process;
#   - bench/clifloor run twice: a Go program with a urfave/cli/v2 app that
#     does nothing, the floor for any pair of commands built as idmapkit is.
set -euo pipefail
n=${1:-500}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags urfave_cli_no_docs -o "$work/idmapkit" "$root/cmd/idmapkit"
go build -tags urfave_cli_no_docs -o "$work/clifloor" "$root/bench/clifloor"
if [ -z "${MOUNT_IDMAPPED:-}" ] && command -v cc >/dev/null; then
	cc -O2 -o "$work/mount-idmapped" "$root/bench/mountidmapped.c"
	MOUNT_IDMAPPED="$work/mount-idmapped"
fi
export IDMAPKIT="$work/idmapkit" N="$n" W="$work" MOUNT_IDMAPPED="${MOUNT_IDMAPPED:-}"
unshare -m --propagation private bash -euo pipefail -c '
mkdir -p "$W/t" && mount -t tmpfs tmpfs "$W/t" && mkdir "$W/t/src" "$W/t/dst"
ms() { local s e; s=$(date +%s%N); "$@"; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
loop_idmapkit() { for ((i = 0; i < N; i++)); do "$IDMAPKIT" mount --map b:0:100000:65536 "$W/t/src" "$W/t/dst"; "$IDMAPKIT" umount "$W/t/dst"; done; }
loop_ref() { for ((i = 0; i < N; i++)); do "$MOUNT_IDMAPPED" --map-mount b:0:100000:65536 "$W/t/src" "$W/t/dst"; umount "$W/t/dst"; done; }
loop_floor() { for ((i = 0; i < N; i++)); do "$W/clifloor" run --map b:0:100000:65536; "$W/clifloor" run; done; }
loop_bind() { for ((i = 0; i < N; i++)); do mount --bind "$W/t/src" "$W/t/dst"; umount "$W/t/dst"; done; }
loop_idmapkit # warm up the page cache
ours=$(ms loop_idmapkit); bind=$(ms loop_bind); floor=$(ms loop_floor)
printf "%-34s %8.3f ms/pair\n" "idmapkit mount + idmapkit umount" "$(echo "$ours / $N / 1000" | bc -l)"
printf "%-34s %8.3f ms/pair\n" "mount --bind + umount (floor)" "$(echo "$bind / $N / 1000" | bc -l)"
printf "%-34s %8.3f ms/pair\n" "Go + urfave/cli no-op, twice" "$(echo "$floor / $N / 1000" | bc -l)"
if [ -n "$MOUNT_IDMAPPED" ]; then
	ref=$(ms loop_ref)
	printf "%-34s %8.3f ms/pair\n" "mount-idmapped + umount" "$(echo "$ref / $N / 1000" | bc -l)"
	printf "ratio idmapkit / mount-idmapped: %.2f\n" "$(echo "$ours / $ref" | bc -l)"
fi
umount "$W/t"
'
