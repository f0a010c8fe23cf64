package chownfallback

import (
	"fmt"
	"strings"
)

// FormatRanges writes ID ranges as "0-3,70000" ("none" for none).
func FormatRanges(rs []IDRange) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.First == r.Last {
			parts[i] = fmt.Sprint(r.First)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.First, r.Last)
		}
	}
	return strings.Join(parts, ",")
}
