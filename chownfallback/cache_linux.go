package chownfallback

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/idmapkit/idmapkit/idmapmount"
	"golang.org/x/sys/unix"
)

// cacheHook, if set, is called after each step of making an entry and
// fails the step when it returns an error: the tests use it to fail or
// kill the build at every step.
var cacheHook func(step string) error

const (
	stepCopy    = "copy"
	stepShift   = "shift"
	stepSync    = "sync"
	stepPublish = "publish"
)

// Get returns the entry for layer under m, making it if there is none:
// a copy of layer (cp -a with reflinks where the filesystem can) shifted
// with m. The layer is only read. Concurrent calls for the same layer and
// mapping, in any process, make it once: the others wait and reuse it.
func (c *Cache) Get(layer string, m idmapmount.Mapping) (*Entry, error) {
	id, err := layerIdentity(layer)
	if err != nil {
		return nil, err
	}
	mapping := m.Sorted().String()
	key := cacheKey(id, mapping)
	if err := c.ensureDir(); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(c.dir(), key+".lock"), unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer unlock()
	e, err := c.lookup(key, id, mapping)
	if err == nil && e == nil {
		e, err = c.build(key, id, m)
	}
	if err != nil {
		return nil, err
	}
	if err := e.hold(); err != nil {
		return nil, err
	}
	return e, nil
}

// hold takes the entry's use lock (its directory, flocked shared) until
// Release, so that Prune does not remove it between Get and the mount
// that uses it. It is taken while Get still holds the key lock, which
// Prune needs too: no Prune can come in between.
func (e *Entry) hold() (err error) {
	e.release, err = lockDir(e.Dir, unix.LOCK_SH)
	return err
}

// Release drops the use lock Get took. Call it once the overlay that
// uses the entry is mounted (the mount then keeps it in use) or has
// failed. Releasing twice, or an entry not from Get, does nothing.
func (e *Entry) Release() {
	if e != nil && e.release != nil {
		e.release()
		e.release = nil
	}
}

// lookup returns the published entry key, or nil if there is none.
func (c *Cache) lookup(key string, id LayerID, mapping string) (*Entry, error) {
	dir := filepath.Join(c.dir(), key)
	b, err := os.ReadFile(filepath.Join(dir, "entry.json"))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Lstat(dir); errors.Is(serr, os.ErrNotExist) {
			return nil, nil
		}
	}
	if err != nil {
		return nil, badEntry(dir, err)
	}
	var info EntryInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, badEntry(dir, err)
	}
	if !info.matches(id, mapping) {
		return nil, badEntry(dir, fmt.Errorf("made for %s under %s, not %s under %s", info.Layer.Path, info.Mapping, id.Path, mapping))
	}
	tree := filepath.Join(dir, "tree")
	if st, err := os.Lstat(tree); err != nil || !st.IsDir() {
		return nil, badEntry(dir, fmt.Errorf("no tree directory"))
	}
	return &Entry{Key: key, Dir: dir, Tree: tree, Info: info, Reused: true, Copy: info.Copy}, nil
}

func badEntry(dir string, err error) error {
	return &idmapmount.StepError{Step: "read cache entry", Path: dir, Err: fmt.Errorf("%w: %w", ErrBadEntry, err),
		Hint: "idmapkit never changes a published entry, and cache prune keeps one that does not describe itself; if no mount uses it (idmapkit cache list), remove it by hand and it is made again"}
}

// build makes the entry key in a temporary directory and publishes it.
func (c *Cache) build(key string, id LayerID, m idmapmount.Mapping) (_ *Entry, retErr error) {
	start := time.Now()
	release, _, _, err := c.beginBuild()
	if err != nil {
		return nil, err
	}
	defer release()
	tmp, err := os.MkdirTemp(c.dir(), tmpPrefix+key[:16]+"-")
	if err != nil {
		return nil, &idmapmount.StepError{Step: "make temporary entry", Path: c.dir(), Err: bareErr(err)}
	}
	defer func() {
		if retErr != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	e := &Entry{Key: key, Dir: filepath.Join(c.dir(), key), Info: EntryInfo{Version: cacheVersion, Layer: id, Mapping: m.Sorted().String()}}
	if err := c.fill(tmp, e, m); err != nil {
		return nil, err
	}
	if err := publish(tmp, e); err != nil {
		return nil, err
	}
	e.Tree = filepath.Join(e.Dir, "tree")
	e.Seconds = time.Since(start).Seconds()
	return e, nil
}

// fill copies the layer into tmp/tree, shifts the copy and describes it
// in tmp/entry.json.
func (c *Cache) fill(tmp string, e *Entry, m idmapmount.Mapping) error {
	tree := filepath.Join(tmp, "tree")
	copied, err := copyTree(e.Info.Layer.Path, tree)
	if err == nil {
		err = hookAt(stepCopy)
	}
	if err != nil {
		return err
	}
	e.Copy, e.Info.Copy = copied, copied
	res, err := Shift(tree, m, c.Shift)
	if err == nil {
		err = hookAt(stepShift)
	}
	if err != nil {
		return fmt.Errorf("shift the copy of %s: %w", e.Info.Layer.Path, err)
	}
	e.Shift, e.Info.Inodes = res, res.Seen
	e.Info.Created = time.Now().UTC()
	return writeInfo(tmp, e.Info)
}

func hookAt(step string) error {
	if cacheHook == nil {
		return nil
	}
	return cacheHook(step)
}

func writeInfo(tmp string, info EntryInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(tmp, "entry.json")
	if err := os.WriteFile(p, append(b, '\n'), 0o600); err != nil {
		return &idmapmount.StepError{Step: "write entry description", Path: p, Err: bareErr(err)}
	}
	return nil
}

// publish makes the entry in tmp durable and then visible under its
// name. syncfs first: once the rename is on disk, everything the entry
// holds must be too, or a crash could leave a published, half-written
// entry that later overlays would trust.
func publish(tmp string, e *Entry) error {
	if err := syncFS(tmp); err != nil {
		return err
	}
	if err := hookAt(stepSync); err != nil {
		return err
	}
	if err := os.Rename(tmp, e.Dir); err != nil {
		return &idmapmount.StepError{Step: "rename temporary entry", Path: e.Dir, Err: bareErr(err)}
	}
	if err := syncDir(filepath.Dir(e.Dir)); err != nil {
		return err
	}
	return hookAt(stepPublish)
}

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return &idmapmount.StepError{Step: "open", Path: dir, Err: bareErr(err)}
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &idmapmount.StepError{Step: "syncfs", Path: dir, Err: err}
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return &idmapmount.StepError{Step: "open", Path: dir, Err: bareErr(err)}
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return &idmapmount.StepError{Step: "fsync", Path: dir, Err: bareErr(err)}
	}
	return nil
}

// bareErr strips an *os.PathError, whose path a StepError already names.
func bareErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
