package statedb

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "with space", "state?#")
	for _, sync := range []Sync{Full, Normal} {
		db, path, err := Open(dir, sync, 2)
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var syncLevel, fk int
		db.QueryRow("PRAGMA journal_mode").Scan(&mode)
		db.QueryRow("PRAGMA synchronous").Scan(&syncLevel)
		db.QueryRow("PRAGMA foreign_keys").Scan(&fk)
		want := map[Sync]int{Normal: 1, Full: 2}[sync]
		if mode != "wal" || syncLevel != want || fk != 1 {
			t.Errorf("%s: journal %q synchronous %d (want %d) foreign_keys %d", sync, mode, syncLevel, want, fk)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", path, fi.Mode(), err)
		}
		db.Close()
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v %v", fi.Mode(), err)
	}
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o600)
	if _, _, err := Open(filepath.Join(file, "sub"), Full, 1); err == nil {
		t.Error("opened a state directory under a file")
	}
}
