// Package fakesnow runs fakesnow's Snowflake server (PyPI fakesnow[server] 0.12.1, from the
// venv `make venv-fakesnow` builds) for the Snowflake-mode stack and its tests.
package fakesnow

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Python is the interpreter of `make venv-fakesnow` (GFN_FAKESNOW_PYTHON overrides).
func Python(root string) (string, error) {
	py := os.Getenv("GFN_FAKESNOW_PYTHON")
	if py == "" {
		py = filepath.Join(root, ".venv-fakesnow", "bin", "python")
	}
	if _, err := os.Stat(py); err != nil {
		return "", fmt.Errorf("fakesnow's python not found at %s (run `make venv-fakesnow`): %w", py, err)
	}
	return py, nil
}

// Start runs fakesnow's Snowflake server on a free port, logging to logPath.
func Start(ctx context.Context, python, logPath string) (port int, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	logf, err := os.Create(logPath)
	if err != nil {
		return 0, nil, err
	}
	cmd := exec.Command(python, "-m", "fakesnow", "-s", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return 0, nil, fmt.Errorf("start fakesnow: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return port, stop, nil
		}
		select {
		case <-exited:
			return 0, nil, fmt.Errorf("fakesnow exited at start (see %s)", logPath)
		case <-ctx.Done():
			stop()
			return 0, nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	stop()
	return 0, nil, fmt.Errorf("fakesnow did not listen on %d within 60s (see %s)", port, logPath)
}

// Database is the database the stack uses on fakesnow.
const Database = "gfn"

// Env is the SNOWFLAKE_* settings that point the Snowflake driver at fakesnow on port.
func Env(port int) []string {
	return []string{"SNOWFLAKE_ACCOUNT=fakesnow", "SNOWFLAKE_USER=gfn", "SNOWFLAKE_PASSWORD=fake",
		"SNOWFLAKE_DATABASE=" + Database, "SNOWFLAKE_WAREHOUSE=load_wh", "SNOWFLAKE_HOST=127.0.0.1",
		"SNOWFLAKE_PORT=" + strconv.Itoa(port), "SNOWFLAKE_PROTOCOL=http"}
}
