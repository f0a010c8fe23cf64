package fsprobe

import (
	"fmt"
	"slices"
	"strings"
)

// NFDPath is where node-feature-discovery's local source reads feature
// files from; each line KEY=VALUE becomes the node label
// feature.node.kubernetes.io/KEY=VALUE.
const NFDPath = "/etc/kubernetes/node-feature-discovery/features.d/idmapkit"

// NFD returns the lines of a node-feature-discovery feature file: the
// kernel version (idmap.kernel=6.18.44), each kernel check answered yes or
// no (idmap.overlay.fd-layers=true), and for each filesystem type probed,
// whether its mounts can be idmapped (idmap.fs.ext4=true). A type is true
// only if every mount of it that got an answer said yes: support is per
// mount for FUSE, and a label must hold for the whole node. Unknown
// answers give no line. The lines are sorted.
func NFD(k Kernel, results []Result) []string {
	var lines []string
	if v := kernelVersion(k.Release); v != "" {
		lines = append(lines, "idmap.kernel="+v)
	}
	for _, c := range k.Checks {
		if c.Supported != Unknown {
			lines = append(lines, fmt.Sprintf("idmap.%s=%t", labelName(c.Name), c.Supported == Yes))
		}
	}
	for fstype, ok := range fsVerdicts(results) {
		lines = append(lines, fmt.Sprintf("idmap.fs.%s=%t", labelName(fstype), ok))
	}
	slices.Sort(lines)
	return slices.Compact(lines)
}

// fsVerdicts folds the answers per filesystem type: false if any mount
// said no, else true if any said yes.
func fsVerdicts(results []Result) map[string]bool {
	out := map[string]bool{}
	for _, r := range results {
		if r.FSType == "" || r.Supported == Unknown {
			continue
		}
		prev, seen := out[r.FSType]
		out[r.FSType] = r.Supported == Yes && (!seen || prev)
	}
	return out
}

// kernelVersion is the leading dotted number of a release string
// ("6.18.44" from "6.18.44-fc-v509"), which is always a valid label value.
func kernelVersion(release string) string {
	end := strings.IndexFunc(release, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if end < 0 {
		end = len(release)
	}
	return strings.Trim(release[:end], ".")
}

// labelName makes s fit a Kubernetes label name: at most 63 characters of
// [A-Za-z0-9._-], starting and ending with a letter or digit. Other
// characters become '-'. (A filesystem type such as fuse.sshfs is kept.)
func labelName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			b[i] = '-'
		}
	}
	s = strings.TrimFunc(string(b), func(r rune) bool { return r > 127 || !isAlnum(byte(r)) })
	if len(s) > 50 { // leaves room for the "idmap.fs." prefix within 63
		s = strings.TrimRightFunc(s[:50], func(r rune) bool { return !isAlnum(byte(r)) })
	}
	if s == "" {
		return "unnamed"
	}
	return s
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
