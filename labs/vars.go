package labs

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
)

// maxDataFile bounds a data file read through dataFS: a service's own
// limits are lower (a zone file, a MIB).
const maxDataFile = 16 << 20

// dataFS is the lab's directory as its services read it: {var.NAME} in a
// data file (a zone file, a MIB) stands for the learner's value, as in
// the lab file, so that each learner's server holds their own secret. A
// reference to no variable is an error at its file and line, recorded in
// the loader.
type dataFS struct {
	ld    *loader
	inner fs.FS
}

// serviceData is what a service's Load reads the lab's files from.
func (ld *loader) serviceData() fs.FS {
	if ld.data == nil || len(ld.defined) == 0 {
		return ld.data
	}
	return dataFS{ld: ld, inner: ld.data}
}

// Open opens name; a regular file is read whole, with the values in place.
func (d dataFS) Open(name string) (fs.File, error) {
	f, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return f, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxDataFile+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if len(src) > maxDataFile {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("larger than %d bytes", maxDataFile)}
	}
	out := d.ld.substituteText(src, path.Join(path.Dir(d.ld.file), name), 0)
	return &memFile{Reader: bytes.NewReader(out), info: memInfo{FileInfo: info, size: int64(len(out))}}, nil
}

// memFile is a data file with its values in place.
type memFile struct {
	*bytes.Reader
	info memInfo
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }

// memInfo is a file's information with its size after substitution.
type memInfo struct {
	fs.FileInfo
	size int64
}

func (i memInfo) Size() int64 { return i.size }
