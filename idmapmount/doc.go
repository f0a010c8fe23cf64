// Package idmapmount holds idmapkit's ID mapping model and the code that
// presents a directory tree under such a mapping with an idmapped mount.
//
// The mapping rule, used everywhere in idmapkit: an extent {From, To, Count}
// means the ID stored on disk, From+i, is presented as To+i. An idmapped
// mount presents it (the kernel translates on every access); a shifting
// chown (package chownfallback) writes it.
//
// What it makes: idmapped bind mounts (Mount; Tree for a detached,
// never-attached idmapped tree), idmapped overlays whose lower layers are
// each idmapped and composed (Overlay: layers as file descriptors on Linux
// 6.15+, through a private staging directory before), their removal
// (Unmount) and a listing of what is mounted (List, with maps from
// statmount on 6.15+). User namespaces for mappings come from UsernsFD,
// cached per mapping.
//
// The mapping model (Mapping, Extent, the spec parsers and the OCI
// conversions) is OS-neutral. The mount code needs Linux 5.12 or later
// (open_tree, mount_setattr with MOUNT_ATTR_IDMAP, move_mount), CAP_SYS_ADMIN
// in the initial user namespace, and a filesystem that supports idmapped
// mounts (tmpfs, ext4, xfs, btrfs, ... since 5.12–6.3; see package fsprobe to
// find out by trying).
//
// Do not use it to give a container's processes their own IDs: that is the
// job of the container's user namespace. An idmapped mount only changes how
// file ownership is read and written through that one mount.
package idmapmount
