// Package awstest gives tests a real SQS/SNS/S3 protocol peer: the emulator named by
// AWS_ENDPOINT_URL (CI starts moto's server), or else a moto server started for the test
// binary. Each test gets its own name prefix so tests can share one emulator.
package awstest

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/infra"
)

var (
	once     sync.Once
	endpoint string
	startErr error
	envOnce  sync.Once
)

// Endpoint returns the emulator's URL, starting moto when AWS_ENDPOINT_URL is not set. It
// fails the test when neither is possible: these tests exist to exercise the real protocol.
func Endpoint(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if e := os.Getenv("AWS_ENDPOINT_URL"); e != "" {
			endpoint = e
			return
		}
		endpoint, _, startErr = StartMoto()
	})
	if startErr != nil {
		t.Fatalf("no AWS emulator: set AWS_ENDPOINT_URL or install moto (pip install 'moto[server]'): %v", startErr)
	}
	return endpoint
}

// MotoServer is motoserver.py: moto's server with its SQS DeleteMessage race fixed (see the
// file), for `python3 -c`.
//
//go:embed motoserver.py
var MotoServer string

// StartMoto starts moto's server (MotoServer) on a free loopback port and waits until it
// answers. It dies with the calling process; stop ends it sooner.
func StartMoto() (url string, stop func(), err error) {
	return StartMotoCommand([]string{"python3", "-c", MotoServer, "-H", "127.0.0.1"})
}

// StartMotoCommand is StartMoto with another command line for the server (docker compose's,
// say); the port is a free one, passed as moto reads it, in MOTO_PORT.
func StartMotoCommand(args []string) (url string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("MOTO_PORT=%d", port))
	// The server dies with the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start moto: %w", err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url + "/moto-api/"); err == nil {
			res.Body.Close()
			return url, stop, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("moto did not answer on %s", url)
}

// Config points the SDK (through the environment, as services read it) at the emulator and
// returns the loaded config. The environment is set once for the test binary, which shares
// one emulator, so parallel tests can call it (t.Setenv would panic there).
func Config(t testing.TB) aws.Config {
	t.Helper()
	url := Endpoint(t)
	envOnce.Do(func() {
		os.Setenv("AWS_ENDPOINT_URL", url)
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
			os.Setenv("AWS_ACCESS_KEY_ID", "test")
			os.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		}
	})
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Prefix is a fresh name prefix for one test's queues, topics and bucket.
func Prefix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "t" + hex.EncodeToString(b) + "-"
}

// Topology applies a fresh prefixed copy of the default topology and returns it.
func Topology(t testing.TB, cfg aws.Config) contracts.Topology {
	t.Helper()
	top := contracts.DefaultTopology("").WithPrefix(Prefix())
	if _, err := infra.Apply(context.Background(), infra.NewClients(cfg), top); err != nil {
		t.Fatalf("apply topology: %v", err)
	}
	return top
}
