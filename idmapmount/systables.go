package idmapmount

// NamespaceTable is the mount table of one mount namespace.
type NamespaceTable struct {
	ID     uint64 // the namespace's ID (NS_GET_MNTNS_ID; statmount's mnt_ns_id)
	PID    int    // a process in it, where one was found; 0 otherwise
	Mounts []NamespaceMount
}

// NamespaceMount is one mount of a NamespaceTable, as statmount(2)
// describes it.
type NamespaceMount struct {
	ID         uint64 // unique mount ID
	Root       string // the mount's root within its filesystem (mountinfo field 4)
	Mountpoint string // where it is mounted, in that namespace
	FSType     string
	Source     string
	Options    string // the filesystem's options (an overlay's layers among them)
}
