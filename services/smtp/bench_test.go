package smtp

import (
	"context"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"protolab/internal/bus"
	"protolab/internal/service"
	"protolab/internal/servicetest"
	"protolab/services/mailstore"
)

// BenchmarkSMTPSource sends b.N small messages over 20 parallel sessions
// with Postfix's smtp-source, as the mail benchmark does, to the server
// over a real store, its events going to a bus with three subscribers
// (one renders the transcripts, as the journal does). It reports the
// server's CPU time per message (this process's, user and system; the
// client is another process). Pin it to one CPU and smtp-source to
// another to compare runs (smtp-source must be on the PATH):
//
//	go test -c -o smtp.test ./services/smtp
//	taskset -c 1 ./smtp.test -test.run '^$' -test.bench SMTPSource -test.benchtime 10000x -test.cpuprofile cpu.out
func BenchmarkSMTPSource(b *testing.B) {
	source, err := exec.LookPath("smtp-source")
	if err != nil {
		b.Skip("smtp-source is not on the PATH (Debian package postfix)")
	}
	st := newStore(b, mailstore.Options{})
	p, err := Spec.Load(servicetest.YAML(b, ""), nil)
	if err != nil {
		b.Fatal(err)
	}
	events := bus.New()
	for i := range 3 {
		sub := events.Subscribe(4096)
		defer events.Unsubscribe(sub)
		go func() {
			for e := range sub.C() {
				if i == 0 {
					e.Render()
				}
			}
		}()
	}
	shared := service.NewShared()
	shared.Put(mailstore.SharedName, st)
	inst, err := p.Start(context.Background(), service.Runtime{Bind: "127.0.0.1", Ports: map[string]int{}, Events: events, Shared: shared})
	if err != nil {
		b.Fatal(err)
	}
	defer inst.Shutdown(context.Background())
	mx, _ := inst.Endpoints().Find("smtp", "tcp")

	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	out, err := exec.Command(source, "-s", "20", "-m", strconv.Itoa(b.N), "-l", "100", "-M", "client.lab.test",
		"-f", "alice@lab.test", "-t", "bob@lab.test", mx).CombinedOutput()
	b.StopTimer()
	if err != nil {
		b.Fatalf("smtp-source: %v: %s", err, out)
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
