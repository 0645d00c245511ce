package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"protolab/internal/api"
	"protolab/internal/progress"
	"protolab/labs"
)

// state returns the state directory: --state, else the default.
func (c *cli) state() (string, error) {
	if c.stateDir != "" {
		return c.stateDir, nil
	}
	if d := c.getenv("LAB_STATE_DIR"); d != "" {
		return d, nil
	}
	return progress.DefaultDir()
}

// lang picks the language: the flag, else LAB_LANG, else the locale.
func (c *cli) lang(flag string) (string, error) {
	if flag != "" {
		if flag != "fr" && flag != "en" {
			return "", usagef("--lang %q: choose fr or en", flag)
		}
		return flag, nil
	}
	for _, v := range []string{"LAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"} {
		s := c.getenv(v)
		if s == "" {
			continue
		}
		if strings.HasPrefix(s, "fr") {
			return "fr", nil
		}
		return "en", nil
	}
	return "en", nil
}

// loadLab loads a built-in lab by id, or the lab file. Problems in the lab
// are usage errors (exit 2): the lab cannot run as written.
func (c *cli) loadLab(id, file string) (*labs.Lab, error) {
	var (
		lab *labs.Lab
		err error
	)
	switch {
	case file != "" && id != "":
		return nil, usagef("give a lab name or --file FILE, not both")
	case file != "":
		lab, err = labs.LoadFile(file, c.reg)
	case id != "":
		// A built-in lab, or labs run together under their combined id
		// (lab start --labs dns,mail is then lab start dns-mail).
		lab, err = labs.LoadID(id, c.reg)
	default:
		return nil, usagef("which lab? The labs are: %s (or --file FILE)", strings.Join(labs.IDs(), ", "))
	}
	if err != nil {
		return nil, labLoadError(err)
	}
	return lab, nil
}

// loadLabs loads built-in labs run together, as one lab (labs.Combine):
// one id is that lab. ids come from --labs: comma-separated, repeatable.
func (c *cli) loadLabs(ids []string) (*labs.Lab, error) {
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			return nil, usagef("--labs %q: an empty lab name; write the labs' ids separated by commas, as in --labs dns,mail", strings.Join(ids, ","))
		}
	}
	lab, err := labs.Combine(ids, c.reg)
	if err != nil {
		return nil, labLoadError(err)
	}
	return lab, nil
}

// labLoadError makes a lab's problems usage errors (exit 2): the lab cannot
// run as written.
func labLoadError(err error) error {
	var list labs.Errors
	if errors.As(err, &list) {
		return &usageError{err: fmt.Errorf("the lab has %d problem(s):\n%w", len(list), err)}
	}
	return &usageError{err: err}
}

// running finds the running lab through the state directory.
func (c *cli) running() (progress.RunInfo, *api.Client, error) {
	dir, err := c.state()
	if err != nil {
		return progress.RunInfo{}, nil, err
	}
	ri, err := progress.Running(dir)
	if err != nil {
		if errors.Is(err, progress.ErrNotRunning) {
			return ri, nil, &notRunningError{dir: dir}
		}
		return ri, nil, err
	}
	return ri, &api.Client{Base: ri.API}, nil
}

func timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// notRunningError says no lab holds the state directory.
type notRunningError struct{ dir string }

func (e *notRunningError) Error() string {
	return fmt.Sprintf("no lab is running with the state directory %s; start one with 'lab start <lab>' (or pass the --state DIR it was started with)", e.dir)
}

func (e *notRunningError) Unwrap() error { return progress.ErrNotRunning }

// tr picks the English or the French wording.
func tr(lang, en, fr string) string {
	if lang == "fr" {
		return fr
	}
	return en
}

// labArg is the optional <lab> argument ("" when --file is used instead).
func labArg(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return ""
}
