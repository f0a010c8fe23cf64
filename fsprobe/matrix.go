package fsprobe

// scratchFS is one kind of scratch filesystem Matrix makes: Name is what
// the row is called, FSType the type it is mounted as, and mkfs the
// command that makes its image (nil for one that needs no device), with
// IMG and SRC standing for the image file and a small source tree.
type scratchFS struct {
	Name   string
	FSType string
	mkfs   []string
	blank  int64 // size of the sparse image mkfs formats; 0: mkfs writes IMG itself
}

// scratchSize is big enough for every mkfs here: mkfs.xfs wants 300 MiB
// since xfsprogs 5.19. The images are sparse, so little is written.
const scratchSize = 300 << 20

// matrixFS is what Matrix makes, in the order it prints.
var matrixFS = []scratchFS{
	{Name: "tmpfs", FSType: "tmpfs"},
	{Name: "ramfs", FSType: "ramfs"},
	{Name: "ext4", FSType: "ext4", mkfs: []string{"mkfs.ext4", "-q", "-F", "IMG"}, blank: scratchSize},
	{Name: "ext2 as ext4", FSType: "ext4", mkfs: []string{"mkfs.ext2", "-q", "-F", "IMG"}, blank: scratchSize},
	{Name: "xfs", FSType: "xfs", mkfs: []string{"mkfs.xfs", "-q", "-f", "IMG"}, blank: scratchSize},
	{Name: "btrfs", FSType: "btrfs", mkfs: []string{"mkfs.btrfs", "-q", "-f", "IMG"}, blank: scratchSize},
	{Name: "squashfs", FSType: "squashfs", mkfs: []string{"mksquashfs", "SRC", "IMG", "-quiet", "-noappend", "-no-progress"}},
	{Name: "erofs", FSType: "erofs", mkfs: []string{"mkfs.erofs", "--quiet", "IMG", "SRC"}},
	{Name: "overlay", FSType: "overlay"},
}
