package idmapmount

import specs "github.com/opencontainers/runtime-spec/specs-go"

// ToOCI converts m to OCI runtime-spec ID mappings. ContainerID is the
// on-disk ID and HostID the presented one, as in a container's user
// namespace whose files are seen from the host.
func (m Mapping) ToOCI() (uids, gids []specs.LinuxIDMapping) {
	return m.UID.toOCI(), m.GID.toOCI()
}

func (im IDMap) toOCI() []specs.LinuxIDMapping {
	out := make([]specs.LinuxIDMapping, 0, len(im))
	for _, e := range im {
		out = append(out, specs.LinuxIDMapping{ContainerID: e.From, HostID: e.To, Size: e.Count})
	}
	return out
}

// FromOCI builds a validated Mapping from OCI runtime-spec ID mappings.
func FromOCI(uids, gids []specs.LinuxIDMapping) (Mapping, error) {
	conv := func(in []specs.LinuxIDMapping) IDMap {
		out := make(IDMap, 0, len(in))
		for _, x := range in {
			out = append(out, Extent{From: x.ContainerID, To: x.HostID, Count: x.Size})
		}
		return out
	}
	m := Mapping{UID: conv(uids), GID: conv(gids)}
	return m, m.Validate()
}
