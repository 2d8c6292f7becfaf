package deploytest

import (
	"archive/zip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/contracts"
)

// makeDeploy runs mk/deploy.mk on its own (the top-level Makefile includes it).
func makeDeploy(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", append([]string{"-s", "-f", "mk/deploy.mk"}, args...)...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPackageRejectsUnknownService(t *testing.T) {
	for _, svc := range []string{"", "bogus", "validator loader"} {
		out, err := makeDeploy(t, 30*time.Second, "package", "SERVICE="+svc, "DIST="+t.TempDir())
		if err == nil || !strings.Contains(out, "unknown SERVICE") {
			t.Errorf("SERVICE=%q: err %v, output %q; want an unknown SERVICE error", svc, err, out)
		}
	}
}

// The recipe (dry run) builds exactly the named service from its own module, CGO for the
// loader alone.
func TestPackageBuildsOnlyTheNamedService(t *testing.T) {
	for _, s := range pipelineServices(t) {
		out, err := makeDeploy(t, 30*time.Second, "-n", "package", "SERVICE="+s.Name)
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.Name, err, out)
		}
		cgo := "CGO_ENABLED=0"
		if s.Name == contracts.ServiceLoader {
			cgo = "CGO_ENABLED=1"
		}
		for _, want := range []string{"cd services/" + s.Name + " ", "GOWORK=off", "GOOS=linux", cgo, "-tags lambda.norpc", "/bootstrap\" ./cmd/" + s.Name, s.Name + "-lambda.zip"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: recipe lacks %q:\n%s", s.Name, want, out)
			}
		}
		if n := strings.Count(out, "go build"); n != 1 {
			t.Errorf("%s: %d go build commands, want 1", s.Name, n)
		}
		for _, other := range pipelineServices(t) {
			if other.Name != s.Name && strings.Contains(out, "services/"+other.Name) {
				t.Errorf("%s: recipe touches services/%s", s.Name, other.Name)
			}
		}
	}
}

// A real build is slow on a shared machine (minutes for a cold cache), so it runs when
// GFN_DEPLOYTEST_PACKAGE names the service to package, e.g. GFN_DEPLOYTEST_PACKAGE=validator.
func TestPackageProducesBootstrapZip(t *testing.T) {
	svc := os.Getenv("GFN_DEPLOYTEST_PACKAGE")
	if svc == "" {
		t.Skip("set GFN_DEPLOYTEST_PACKAGE=<service> to build a real Lambda zip")
	}
	dist := t.TempDir()
	if out, err := makeDeploy(t, 15*time.Minute, "package", "SERVICE="+svc, "DIST="+dist); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(dist)
	if err != nil || len(entries) != 1 || entries[0].Name() != svc+"-lambda.zip" {
		t.Fatalf("dist holds %v (%v); want only %s-lambda.zip", entries, err, svc)
	}
	z, err := zip.OpenReader(filepath.Join(dist, svc+"-lambda.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if len(z.File) != 1 || z.File[0].Name != "bootstrap" || z.File[0].Mode()&0o111 == 0 {
		t.Fatalf("zip holds %v; want one executable bootstrap", z.File)
	}
}
