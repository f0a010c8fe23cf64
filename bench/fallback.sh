#!/usr/bin/env bash
# Time to present one image of about 200,000 inodes to a NEW user (a
# mapping not seen before), two ways, in one run on one filesystem:
#
#   idmapped   one `idmapkit overlay` process: the layers are idmapped,
#              nothing is copied or changed (cost independent of the image)
#   fallback   one `idmapkit overlay --fallback=chown` process with an empty
#              cache for the mapping: cp -a --reflink=auto of the image into
#              the cache, a shift of the copy, then the overlay on it
#   warm       the same fallback again for a mapping already in the cache
#              (the entry is reused: the cost of a second mount for a user)
#
#   bash bench/fallback.sh [ROUNDS]          # as root; ROUNDS default 3
#
#   COPIES=30   rootfs copies in the image (30 x ~6,800 inodes = ~200,000)
#   BENCH_FS=xfs (default: image and cache on one xfs with reflinks, so the
#            copy shares data blocks: the fallback's best case) | ext4 (a
#            full copy of every file)
#   IMG_DIR=/var/tmp  where the sparse loop image lives (16 GiB sparse)
#
# xfs and ext4 can be idmapped, so the fallback is forced there
# (IDMAPKIT_FORCE_FALLBACK=1): the same image, the same cache filesystem,
# the same code path a ramfs layer takes (see TestOverlayFallbackOnRamfs).
# Dirty data is synced before every timed run. The ratio is the median
# fallback time over the median idmapped time (target: >= 1000).
set -euo pipefail
rounds=${1:-3}
copies=${COPIES:-30}
fs=${BENCH_FS:-xfs}
root=$(cd "$(dirname "$0")/.." && pwd)
tarball=${IDMAPKIT_ROOTFS_CACHE:-/var/cache/idmapkit-test}/debian-bookworm-minbase-v1.tar
[ "$(id -u)" -eq 0 ] || { echo "bench/fallback.sh: run as root" >&2; exit 1; }
[ -f "$tarball" ] || { echo "bench/fallback.sh: no $tarball; run the chownfallback tests once (go test ./chownfallback), which build it with debootstrap" >&2; exit 1; }
work=$(mktemp -d "${IMG_DIR:-/var/tmp}/idmapkit-fallback-bench.XXXXXX")
go build -tags urfave_cli_no_docs -o "$work/idmapkit" "$root/cmd/idmapkit"
export W=$work FS=$fs COPIES=$copies ROUNDS=$rounds TARBALL=$tarball IDMAPKIT_STATE_DIR=$work/state
trap 'rm -rf "$work"' EXIT
cat >"$work/inner.sh" <<'INNER'
set -euo pipefail
I=$W/idmapkit
mkdir "$W/mnt"
truncate -s 16G "$W/img"
case "$FS" in
xfs) mkfs.xfs -q -f -m reflink=1 "$W/img" ;;
ext4) mkfs.ext4 -q -F "$W/img" ;;
*) echo "BENCH_FS: xfs or ext4" >&2; exit 1 ;;
esac
mount -o loop "$W/img" "$W/mnt"
trap 'cd /; umount -l "$W/mnt"' EXIT
cd "$W/mnt"
echo "building the image: $COPIES rootfs copies on $FS ..." >&2
mkdir -p image/c0 top cache
echo top >top/hello
tar --xattrs --xattrs-include='*' --acls --numeric-owner -p -xf "$TARBALL" -C image/c0
for ((i = 1; i < COPIES; i++)); do cp -a --reflink=auto image/c0 "image/c$i"; done
inodes=$(find image -xdev | wc -l)
find . -xdev -printf '%U' >/dev/null # warm the dentry and inode caches
sync

n=0
# user BASE [FLAG...]: mount an overlay of the image for a new user with
# the mapping b:0:BASE:65536, print the wall time of that one idmapkit
# process in microseconds, unmount it.
user() {
	local base=$1 s e
	shift
	n=$((n + 1))
	mkdir -p "u$n/upper" "u$n/work" "u$n/target"
	sync
	s=$(date +%s%N)
	"$I" overlay "$@" --lower top --lower image --upper "u$n/upper" --work "u$n/work" \
		--map "b:0:$base:65536" --cache-dir "$W/mnt/cache" "u$n/target" 2>>"$W/stderr"
	e=$(date +%s%N)
	"$I" umount "u$n/target"
	echo $(((e - s) / 1000))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
user 900000 >/dev/null # warm up the binary and the user namespace code
idm=() cold=() warm=()
for ((r = 0; r < ROUNDS; r++)); do
	b=$((1000000 + r * 65536))
	idm+=("$(user "$b")")
	cold+=("$(user "$b" --fallback=chown --force-fallback)")
	warm+=("$(user "$b" --fallback=chown --force-fallback)")
done
made=$(grep -c 'layer image: .*made a shifted copy' "$W/stderr" || true)
reused=$(grep -c 'layer image: .*reused the shifted copy' "$W/stderr" || true)
[ "$made" -eq "$ROUNDS" ] && [ "$reused" -eq "$ROUNDS" ] || { echo "unexpected fallback paths:"; cat "$W/stderr"; exit 1; } >&2
i=$(printf '%s\n' "${idm[@]}" | median)
c=$(printf '%s\n' "${cold[@]}" | median)
w=$(printf '%s\n' "${warm[@]}" | median)
echo "image: $inodes inodes ($COPIES rootfs copies) on $FS, $(nproc) CPUs, kernel $(uname -r)"
grep 'layer image: .*made a shifted copy' "$W/stderr" | tail -1 | sed 's/^idmapkit: overlay: layer [^:]*: /last fallback: /'
printf '%-52s %12.1f ms  (runs, us: %s)\n' "idmapped overlay, new user (median)" "$(echo "$i / 1000" | bc -l)" "${idm[*]}"
printf '%-52s %12.1f ms  (runs, us: %s)\n' "--fallback=chown, new user, empty cache (median)" "$(echo "$c / 1000" | bc -l)" "${cold[*]}"
printf '%-52s %12.1f ms  (runs, us: %s)\n' "--fallback=chown, cache reused (median)" "$(echo "$w / 1000" | bc -l)" "${warm[*]}"
printf 'ratio fallback (empty cache) / idmapped: %.0fx  (target >= 1000x)\n' "$(echo "$c / $i" | bc -l)"
printf 'ratio fallback (cache reused) / idmapped: %.2fx\n' "$(echo "$w / $i" | bc -l)"
INNER
unshare -m --propagation private bash "$work/inner.sh"
