package installer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/poll"
)

func TestNewLogger_Stderr(t *testing.T) {
	t.Run("Text", func(t *testing.T) {
		var buf bytes.Buffer
		log, c, err := NewLogger(LogOptions{stderr: &buf})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		log.Debug("hidden")
		log.Info("bill settled", "bill", "B1")
		got := buf.String()
		if !strings.Contains(got, "level=INFO msg=\"bill settled\" bill=B1\n") || !strings.HasPrefix(got, "time=") {
			t.Errorf("text line = %q; want time=... level=INFO msg=\"bill settled\" bill=B1", got)
		}
		if strings.Contains(got, "hidden") {
			t.Errorf("debug line written at info level: %q", got)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		var buf bytes.Buffer
		log, c, err := NewLogger(LogOptions{Format: "json", Level: "debug", stderr: &buf})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		log.Debug("card read", "window", "W01", "certno", "110101199003074512")
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("not one JSON object: %q: %v", buf.String(), err)
		}
		if m["level"] != "DEBUG" || m["msg"] != "card read" || m["window"] != "W01" || m["certno"] != "110101********4512" {
			t.Errorf("JSON line = %v; want level DEBUG, msg, window W01, certno masked", m)
		}
	})
	t.Run("Journald", func(t *testing.T) {
		var buf bytes.Buffer
		env := map[string]string{"JOURNAL_STREAM": "8:12345"}
		log, c, err := NewLogger(LogOptions{Format: "json", Level: "debug", Service: true, stderr: &buf,
			getenv: func(k string) string { return env[k] }})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		log.Debug("d")
		log.Info("i", "psn_name", "王小明")
		log.Warn("w")
		log.Error("e")
		want := "<7>level=DEBUG msg=d\n<6>level=INFO msg=i psn_name=王**\n<4>level=WARN msg=w\n<3>level=ERROR msg=e\n"
		if got := buf.String(); got != want {
			t.Errorf("journal lines:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("ServiceWithoutJournal", func(t *testing.T) {
		var buf bytes.Buffer
		log, c, err := NewLogger(LogOptions{Service: true, stderr: &buf, getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		log.Info("x")
		if !strings.HasPrefix(buf.String(), "time=") {
			t.Errorf("line = %q; want a time when not under journald", buf.String())
		}
	})
}

func TestNewLogger_BadOptions(t *testing.T) {
	for _, o := range []LogOptions{{Level: "verbose"}, {Format: "xml"}} {
		if _, _, err := NewLogger(o); err == nil {
			t.Errorf("NewLogger(%+v) = nil error; want one", o)
		}
	}
}

func TestNewLogger_FileRotation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	file := filepath.Join(dir, "settle-agent.log")
	log, c, err := NewLogger(LogOptions{File: file, MaxSizeMB: 1, MaxBackups: 2, Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 1000)
	// 3.5 MB of lines: at 1 MB per file that is at least three rotations, of which two backups stay.
	for i := 0; i < 3500; i++ {
		log.Info("line", "i", i, "pad", pad, "card_no", "1234567890123456")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// lumberjack removes surplus backups in a goroutine after rotating: poll.
	var names []string
	poll.Within(10*time.Second, time.Millisecond, func() bool {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		names = names[:0]
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return len(names) == 3
	})
	if len(names) != 3 {
		t.Fatalf("log folder holds %v; want the file and 2 backups", names)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || len(data) > 1<<20 {
		t.Errorf("current log is %d bytes; want 1..%d", len(data), 1<<20)
	}
	last := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	var m map[string]any
	if err := json.Unmarshal(last[len(last)-1], &m); err != nil {
		t.Fatal(err)
	}
	if m["i"] != float64(3499) || m["card_no"] != "123456******3456" {
		t.Errorf("last line = %v; want i 3499 and card_no masked", m)
	}
}

// A log file that cannot be created is an error at start, on every system: its
// folder is a plain file here (chmod 0500 makes no folder read-only on Windows, nor
// for root).
func TestNewLogger_FileNotWritable(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "not-a-folder")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, c, err := NewLogger(LogOptions{File: filepath.Join(notDir, "a.log")})
	if err == nil {
		c.Close() // an open log file would be a sharing violation at cleanup on Windows
		t.Errorf("NewLogger into a folder that is a file = nil error; want one")
	}
}

func FuzzLineLevel(f *testing.F) {
	for _, s := range []string{"level=INFO msg=x\n", "level=WARN+2 msg=x", "level=ERROR", "level=DEBUG-4", "msg=x", "", "level="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		l := lineLevel(line)
		if !bytes.HasPrefix(line, []byte("level=")) && l != 0 {
			t.Fatalf("lineLevel(%q) = %v; want INFO for a line without a level", line, l)
		}
		if bytes.HasPrefix(line, []byte("level=ERROR")) && l != 8 {
			t.Fatalf("lineLevel(%q) = %v; want ERROR", line, l)
		}
	})
}
