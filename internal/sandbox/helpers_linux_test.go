package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"protolab/internal/service"
)

func servicePacketOptions() service.PacketOptions {
	return service.PacketOptions{Device: ServerLink, Broadcast: true, ReuseAddr: true}
}

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

func itoa(n int) string { return strconv.Itoa(n) }

func TestUserNamespacesBlocked(t *testing.T) {
	defer func(old string) { procSys = old }(procSys)
	for _, c := range []struct {
		files map[string]string
		want  string
	}{
		{map[string]string{"kernel/apparmor_restrict_unprivileged_userns": "1\n"}, "AppArmor"},
		{map[string]string{"kernel/unprivileged_userns_clone": "0\n"}, "kernel.unprivileged_userns_clone=0"},
		{map[string]string{"user/max_user_namespaces": "0\n"}, "user.max_user_namespaces=0"},
		{map[string]string{"user/max_user_namespaces": "1000\n", "kernel/apparmor_restrict_unprivileged_userns": "0\n"}, ""},
	} {
		procSys = t.TempDir()
		for f, v := range c.files {
			os.MkdirAll(filepath.Join(procSys, filepath.Dir(f)), 0o755)
			os.WriteFile(filepath.Join(procSys, f), []byte(v), 0o644)
		}
		got := userNamespacesBlocked()
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%v: %q, want %q", c.files, got, c.want)
		}
		if c.want != "" {
			err := explainStartError(syscall.EPERM, true)
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "run as root") {
				t.Errorf("explainStartError: %v", err)
			}
		}
	}
}
