#!/usr/bin/env bash
# Wall time of `idmapkit shift` against coreutils `chown -R --no-dereference`
# on identical trees of about 200,000 inodes: COPIES copies (default 30) of
# a Debian bookworm minbase rootfs, warm cache, side by side in one run.
#
#   bash bench/shift.sh [ROUNDS]        # as root
#
#   BENCH_FS=xfs (default; copies are reflinks, so 30 copies cost little
#            space) | ext4 (full copies, a 16 GiB sparse image) | tmpfs
#   IMG_DIR=/dev/shm  where the loop image lives (default: /dev/shm, so that
#            the journal's writes cost no disk I/O and runs are repeatable;
#            set IMG_DIR=/var/tmp for a disk-backed image)
#   COPIES=30  JOBS=  (idmapkit --jobs; default: the number of CPUs)
#
# Each round times, one after the other on warm caches: chown -R to
# 100000:100000 on tree A, idmapkit shift --map b:0:100000:65536 on tree B,
# then both back (chown -R 0:0, shift --reverse). Every timed run changes
# the owner of every inode, so both do one chown(2) per inode. Dirty
# metadata is synced before each timed run. The ratio is the median of
# idmapkit's times over the median of chown -R's; <= 1.0 means idmapkit is
# no slower.
set -euo pipefail
rounds=${1:-3}
copies=${COPIES:-30}
fs=${BENCH_FS:-xfs}
root=$(cd "$(dirname "$0")/.." && pwd)
tarball=${IDMAPKIT_ROOTFS_CACHE:-/var/cache/idmapkit-test}/debian-bookworm-minbase-v1.tar
[ "$(id -u)" -eq 0 ] || { echo "bench/shift.sh: run as root" >&2; exit 1; }
[ -f "$tarball" ] || { echo "bench/shift.sh: no $tarball; run the chownfallback tests once (go test ./chownfallback), which build it with debootstrap" >&2; exit 1; }
work=$(mktemp -d "${IMG_DIR:-/dev/shm}/idmapkit-bench.XXXXXX")
trap 'umount -l "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -tags urfave_cli_no_docs -o "$work/idmapkit" "$root/cmd/idmapkit"
mkdir "$work/mnt"
case "$fs" in
xfs) truncate -s 8G "$work/img"; mkfs.xfs -q -f -m reflink=1 "$work/img"; mount -o loop "$work/img" "$work/mnt" ;;
ext4) truncate -s 16G "$work/img"; mkfs.ext4 -q -F "$work/img"; mount -o loop "$work/img" "$work/mnt" ;;
tmpfs) mount -t tmpfs -o size=16G tmpfs "$work/mnt" ;;
*) echo "BENCH_FS: xfs, ext4 or tmpfs" >&2; exit 1 ;;
esac
mnt=$work/mnt
echo "building $copies copies of the rootfs on $fs ..." >&2
mkdir "$mnt/A" "$mnt/A/c0"
tar --xattrs --xattrs-include='*' --acls --numeric-owner -p -xf "$tarball" -C "$mnt/A/c0"
for ((i = 1; i < copies; i++)); do cp -a --reflink=auto "$mnt/A/c0" "$mnt/A/c$i"; done
cp -a --reflink=auto "$mnt/A" "$mnt/B"
inodes=$(find "$mnt/A" -xdev | wc -l)
find "$mnt" -xdev -printf '%U' >/dev/null # warm the dentry and inode caches
sync

# One untimed pass of each, so that both start from caches they have
# walked before.
chown -R --no-dereference 100000:100000 "$mnt/A"; chown -R --no-dereference 0:0 "$mnt/A"
"$work/idmapkit" shift --map b:0:100000:65536 "$mnt/B" >/dev/null
"$work/idmapkit" shift --map b:0:100000:65536 --reverse "$mnt/B" >/dev/null

secs() { local s e; sync; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo "$(( (e - s) / 1000000 ))"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
minimum() { sort -n | head -1; }
chown_ms=() shift_ms=()
for ((r = 0; r < rounds; r++)); do
	chown_ms+=("$(secs chown -R --no-dereference 100000:100000 "$mnt/A")")
	shift_ms+=("$(secs "$work/idmapkit" shift ${JOBS:+--jobs "$JOBS"} --map b:0:100000:65536 "$mnt/B")")
	chown_ms+=("$(secs chown -R --no-dereference 0:0 "$mnt/A")")
	shift_ms+=("$(secs "$work/idmapkit" shift ${JOBS:+--jobs "$JOBS"} --map b:0:100000:65536 --reverse "$mnt/B")")
done
c=$(printf '%s\n' "${chown_ms[@]}" | median)
s=$(printf '%s\n' "${shift_ms[@]}" | median)
cmin=$(printf '%s\n' "${chown_ms[@]}" | minimum)
smin=$(printf '%s\n' "${shift_ms[@]}" | minimum)
echo "tree: $inodes inodes ($copies rootfs copies) on $fs, $(nproc) CPUs, kernel $(uname -r)"
printf "%-44s %8s ms  (runs: %s)\n" "chown -R --no-dereference (median)" "$c" "${chown_ms[*]}"
printf "%-44s %8s ms  (runs: %s)\n" "idmapkit shift${JOBS:+ --jobs $JOBS} (median)" "$s" "${shift_ms[*]}"
printf "ratio idmapkit shift / chown -R: %.2f (medians), %.2f (fastest runs %s / %s ms)\n" \
	"$(echo "$s / $c" | bc -l)" "$(echo "$smin / $cmin" | bc -l)" "$smin" "$cmin"
