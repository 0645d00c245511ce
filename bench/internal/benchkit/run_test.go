package benchkit

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWorkDir(t *testing.T) {
	for _, keep := range []bool{false, true} {
		var stderr bytes.Buffer
		dir, remove, err := WorkDir("testbench", "benchkit-test-", keep, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || !bytes.HasPrefix([]byte(filepath.Base(dir)), []byte("benchkit-test-")) {
			t.Fatalf("keep %v: dir %q: %v", keep, dir, err)
		}
		remove()
		_, err = os.Stat(dir)
		if keep {
			if err != nil || stderr.String() != "testbench: work directory kept: "+dir+"\n" {
				t.Errorf("kept dir: %v, said %q", err, stderr.String())
			}
			os.RemoveAll(dir)
		} else if !os.IsNotExist(err) || stderr.Len() != 0 {
			t.Errorf("dir not removed (%v) or something said: %q", err, stderr.String())
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    string // the error, "" for none
		flagErr bool
	}{
		{[]string{"-n", "3"}, "", false},
		{nil, "", false},
		{[]string{"-n", "0"}, "testbench: -n must be at least 1", false},
		{[]string{"-x"}, "", true},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("testbench", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		n := fs.Int("n", 2, "")
		err := parseArgs(fs, tt.args, func() error { // must see the parsed value
			if *n < 1 {
				return errors.New("-n must be at least 1")
			}
			return nil
		})
		switch {
		case tt.flagErr:
			if !errors.Is(err, errFlags) {
				t.Errorf("%q: error %v, want a flag error", tt.args, err)
			}
		case tt.want == "" && err != nil, tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("%q: error %v, want %q", tt.args, err, tt.want)
		}
	}
}
