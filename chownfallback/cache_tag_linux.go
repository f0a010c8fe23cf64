package chownfallback

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// ensureDir makes the cache directory, readable by root alone (the
// entries are lower layers of users' overlays and nobody else may change
// them), with its tag.
func (c *Cache) ensureDir() error {
	if _, err := os.Lstat(c.dir()); errors.Is(err, os.ErrNotExist) {
		if err := c.makeDir(); err != nil {
			return err
		}
	}
	return c.ensureTag()
}

// makeDir makes the cache directory with its tag already in it: it is
// made under a temporary name beside, and renamed into place, so that a
// prune never finds it without its tag.
func (c *Cache) makeDir() error {
	dir := c.dir()
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return &idmapmount.StepError{Step: "make cache directory", Path: parent, Err: bareErr(err)}
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-") // mode 0700
	if err != nil {
		return &idmapmount.StepError{Step: "make cache directory", Path: parent, Err: bareErr(err)}
	}
	err = writeTag(filepath.Join(tmp, cacheTagName))
	if err == nil {
		err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE)
		if err == unix.EEXIST {
			err = nil // another process made it first
		} else if err != nil {
			err = &idmapmount.StepError{Step: "renameat2", Flags: "RENAME_NOREPLACE", Path: dir, Err: err}
		}
	}
	_ = os.RemoveAll(tmp) // gone already, unless another process won
	return err
}

// ensureTag tags an empty cache directory that has no tag (made by
// hand), and refuses any other untagged directory: the tag is written
// under a temporary name and linked into place whole.
func (c *Cache) ensureTag() error {
	tag := filepath.Join(c.dir(), cacheTagName)
	if _, err := os.Lstat(tag); err == nil {
		return nil
	}
	// Only an empty directory becomes a cache: a mistyped --cache-dir
	// must not turn a directory of files into one (prune would then work
	// there, and backup tools would skip it).
	names, err := os.ReadDir(c.dir())
	if err != nil {
		return &idmapmount.StepError{Step: "read cache directory", Path: c.dir(), Err: bareErr(err)}
	}
	if len(names) > 0 {
		return &idmapmount.StepError{Step: "check cache directory", Path: c.dir(), Err: fmt.Errorf("%w: not empty, and no %s", ErrNotCache, cacheTagName),
			Hint: "give --cache-dir a new or empty directory, or the cache directory idmapkit made before"}
	}
	f, err := os.CreateTemp(c.dir(), tmpPrefix+"tag-")
	if err != nil {
		return &idmapmount.StepError{Step: "write cache directory tag", Path: c.dir(), Err: bareErr(err)}
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if err := writeTag(tmp); err != nil {
		return err
	}
	if err := os.Link(tmp, tag); err != nil && !errors.Is(err, os.ErrExist) {
		return &idmapmount.StepError{Step: "link cache directory tag", Path: tag, Err: bareErr(err)}
	}
	return nil
}

func writeTag(path string) error {
	if err := os.WriteFile(path, []byte(cacheTagText), 0o600); err != nil {
		return &idmapmount.StepError{Step: "write cache directory tag", Path: path, Err: bareErr(err)}
	}
	return nil
}

// The cache directory carries a tag (the Cache Directory Tagging
// convention, https://bford.info/cachedir/: backup tools skip what can
// be made again). Prune and Entries work only in a directory that has
// it, so that a mistyped --cache-dir is refused, not cleaned.
const (
	cacheTagName      = "CACHEDIR.TAG"
	cacheTagSignature = "Signature: 8a477f597d28d172789f06886806bc55"
	cacheTagText      = cacheTagSignature + "\n# The shifted layer copies of idmapkit overlay --fallback=chown.\n# For information about cache directory tags, see https://bford.info/cachedir/\n"
)

// checkTag fails unless the cache directory has idmapkit's tag.
func (c *Cache) checkTag() error {
	tag := filepath.Join(c.dir(), cacheTagName)
	b, err := os.ReadFile(tag)
	switch {
	case err == nil && strings.HasPrefix(string(b), cacheTagSignature):
		return nil
	case err == nil:
		err = fmt.Errorf("%w: no cache directory signature", ErrNotCache)
	case errors.Is(err, os.ErrNotExist):
		err = fmt.Errorf("%w: %w", ErrNotCache, bareErr(err))
	case errors.Is(err, os.ErrPermission):
		return &idmapmount.StepError{Step: "read cache directory tag", Path: tag, Err: bareErr(err),
			Hint: "the cache is readable by root alone: run as root"}
	default:
		return &idmapmount.StepError{Step: "read cache directory tag", Path: tag, Err: bareErr(err)}
	}
	return &idmapmount.StepError{Step: "read cache directory tag", Path: tag, Err: err,
		Hint: fmt.Sprintf("%s is not a cache directory made by idmapkit overlay --fallback=chown; check --cache-dir", c.dir())}
}
