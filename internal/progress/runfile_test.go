package progress

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultDir(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory:", err)
	}
	for _, tc := range []struct {
		name, labDir, xdg, want string
	}{
		{"LAB_STATE_DIR wins", "/srv/lab-state", "/xdg", "/srv/lab-state"},
		{"XDG_STATE_HOME", "", "/xdg", "/xdg/lab"},
		{"relative XDG ignored", "", "rel", filepath.Join(home, ".local", "state", "lab")},
		{"home", "", "", filepath.Join(home, ".local", "state", "lab")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LAB_STATE_DIR", tc.labDir)
			t.Setenv("XDG_STATE_HOME", tc.xdg)
			got, err := DefaultDir()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("DefaultDir() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRunFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if _, err := ReadRunFile(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadRunFile with no file = %v, want os.ErrNotExist", err)
	}
	ri := RunInfo{PID: 4242, Lab: "dns", API: "http://127.0.0.1:8080",
		Started: time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600)), File: "my/lab.yaml"}
	if err := WriteRunFile(dir, ri); err != nil {
		t.Fatal(err)
	}
	ri2 := ri
	ri2.PID, ri2.File = 4343, ""
	if err := WriteRunFile(dir, ri2); err != nil { // replaces the first
		t.Fatal(err)
	}
	got, err := ReadRunFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.PID != ri2.PID || got.Lab != ri2.Lab || got.API != ri2.API || !got.Started.Equal(ri2.Started) || got.File != "" {
		t.Errorf("ReadRunFile = %+v, want %+v", got, ri2)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != RunFileName {
		t.Errorf("state directory holds %v, want only %s (no temporary files)", entries, RunFileName)
	}
	fi, err := os.Stat(filepath.Join(dir, RunFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("run file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := RemoveRunFile(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRunFile(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadRunFile after remove = %v, want os.ErrNotExist", err)
	}
	if err := RemoveRunFile(dir); err != nil {
		t.Errorf("RemoveRunFile twice = %v, want nil", err)
	}
}

func TestWriteRunFileRejects(t *testing.T) {
	for _, ri := range []RunInfo{
		{PID: 0, Lab: "dns", API: "http://127.0.0.1:1"},
		{PID: 1, Lab: "", API: "http://127.0.0.1:1"},
		{PID: 1, Lab: "dns", API: ""},
		{PID: 1, Lab: "dns", API: "127.0.0.1:8080"},
		{PID: 1, Lab: "dns", API: "http://"},
		{PID: 1, Lab: "dns", API: "http://127.0.0.1:1", Started: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		dir := t.TempDir()
		if err := WriteRunFile(dir, ri); err == nil {
			t.Errorf("WriteRunFile(%+v) succeeded", ri)
		}
		if _, err := os.Stat(filepath.Join(dir, RunFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("WriteRunFile(%+v) left a file: %v", ri, err)
		}
	}
}

func TestReadRunFileParse(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"valid", `{"pid":12,"lab":"dns","api":"http://127.0.0.1:8080","started":"2025-01-02T03:04:05Z"}`, true},
		{"https and file", `{"pid":12,"lab":"x","api":"https://[::1]:8443","started":"2025-01-02T03:04:05+01:00","file":"a.yaml"}`, true},
		{"unknown fields", `{"pid":12,"lab":"dns","api":"http://h:1","extra":[1,2]}`, true},
		{"empty", ``, false},
		{"truncated", `{"pid":12,"lab":"dns","api":"http://127.0`, false},
		{"null", `null`, false},
		{"no pid", `{"lab":"dns","api":"http://h:1"}`, false},
		{"negative pid", `{"pid":-3,"lab":"dns","api":"http://h:1"}`, false},
		{"pid string", `{"pid":"12","lab":"dns","api":"http://h:1"}`, false},
		{"huge pid", `{"pid":1e100,"lab":"dns","api":"http://h:1"}`, false},
		{"no api", `{"pid":12,"lab":"dns"}`, false},
		{"ftp api", `{"pid":12,"lab":"dns","api":"ftp://h:1"}`, false},
		{"bad time", `{"pid":12,"lab":"dns","api":"http://h:1","started":"yesterday"}`, false},
		{"too large", `{"pid":12,"lab":"dns","api":"http://h:1","file":"` + strings.Repeat("x", maxRunFile) + `"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, RunFileName), []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ReadRunFile(dir)
			if (err == nil) != tc.ok {
				t.Errorf("ReadRunFile error = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && errors.Is(err, os.ErrNotExist) {
				t.Errorf("a bad run file reads as absent: %v", err)
			}
		})
	}
}

// FuzzRunFile feeds ReadRunFile arbitrary files. It must not panic, and a
// file it accepts must survive a write and read back unchanged.
func FuzzRunFile(f *testing.F) {
	for _, seed := range []string{
		`{"pid":12,"lab":"dns","api":"http://127.0.0.1:8080","started":"2025-01-02T03:04:05.123456789Z"}`,
		`{"pid":1,"lab":"mail","api":"https://[::1]:8443/x","started":"2025-01-02T03:04:05+01:00","file":"lab.yaml"}`,
		`{"pid":12,"lab":"dns","api":"http://h:1","started":"0001-01-01T00:00:00Z"}`,
		``, `null`, `[]`, `{"pid":-1}`, "\xff\xfe{", `{"pid":12,"lab":"dns","api":"http://%zz"}`,
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir() // iterations in one worker run one after another
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, RunFileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		ri, err := ReadRunFile(dir)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a present file reads as absent: %v", err)
			}
			return
		}
		if err := WriteRunFile(dir, ri); err != nil {
			t.Fatalf("accepted %+v but cannot write it back: %v", ri, err)
		}
		again, err := ReadRunFile(dir)
		if err != nil {
			t.Fatalf("cannot read back %+v: %v", ri, err)
		}
		if again.PID != ri.PID || again.Lab != ri.Lab || again.API != ri.API ||
			again.File != ri.File || !again.Started.Equal(ri.Started) {
			t.Fatalf("round trip changed %+v into %+v", ri, again)
		}
	})
}
