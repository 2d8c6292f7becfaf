package deploytest

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Instruction is one Dockerfile instruction with its line continuations joined.
type Instruction struct {
	Cmd  string
	Args string
}

// ParseDockerfile splits a Dockerfile into instructions (comments and blank lines dropped).
func ParseDockerfile(path string) ([]Instruction, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		cur.WriteString(t)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, Instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		cur.Reset()
	}
	return out, nil
}

var secretName = regexp.MustCompile(`(?i)(KEY|TOKEN|SECRET|PASSWORD|WEBHOOK)`)

// CheckServiceDockerfile checks an image: multi-stage, pinned bases, builds the main package
// pkg (e.g. ./cmd/validator) from the module dir with CGO only when cgo is true, on a runtime
// base that can run such a binary and has CA certificates, runs as non-root, and bakes no
// secret settings in.
func CheckServiceDockerfile(ins []Instruction, moduleDir, pkg string, cgo bool) []string {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	froms, built, user := 0, false, ""
	workdir, runtimeImage, caInstalled := "", "", false
	for _, in := range ins {
		switch in.Cmd {
		case "FROM":
			froms++
			runtimeImage = strings.Fields(in.Args)[0]
			if !pinned(runtimeImage) {
				bad("FROM %s is not pinned to a version tag or digest", runtimeImage)
			}
			user, caInstalled = "", false
		case "WORKDIR":
			workdir = in.Args
		case "USER":
			user = in.Args
		case "ENV", "ARG":
			for _, f := range strings.Fields(in.Args) {
				if k, _, _ := strings.Cut(f, "="); secretName.MatchString(k) {
					bad("%s %s: secrets come from the environment at run time, not the image", in.Cmd, k)
				}
			}
		case "RUN":
			caInstalled = caInstalled || strings.Contains(in.Args, "ca-certificates")
			if !strings.Contains(in.Args, "go build") {
				continue
			}
			built = true
			if f := strings.Fields(in.Args); f[len(f)-1] != pkg {
				bad("go build builds %s, want %s", f[len(f)-1], pkg)
			}
			if workdir != "/src/"+moduleDir {
				bad("go build runs in %s, want the module dir /src/%s", workdir, moduleDir)
			}
			wantCGO := "CGO_ENABLED=0"
			if cgo {
				wantCGO = "CGO_ENABLED=1"
			}
			if !strings.Contains(in.Args, wantCGO) {
				bad("go build: want %s", wantCGO)
			}
			if !strings.Contains(in.Args, "GOWORK=off") {
				bad("go build: want GOWORK=off (the module builds alone)")
			}
		}
	}
	if froms < 2 {
		bad("want a multi-stage build (build stage + runtime stage), have %d FROM", froms)
	}
	if !built {
		bad("no go build step")
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		bad("final stage runs as %q, want a non-root user", user)
	}
	if base, ok := LookupRuntimeBase(runtimeImage); !ok {
		bad("runtime base %s: unknown; add what it ships to runtimeBases", runtimeImage)
	} else {
		if cgo && base.Static {
			bad("runtime base %s has no libc, but the binary is built with CGO", runtimeImage)
		}
		// Every image may talk to real endpoints (AWS, Snowflake, the GFN API) over TLS.
		if !base.CACerts && !caInstalled {
			bad("runtime base %s has no CA certificates: install ca-certificates", runtimeImage)
		}
	}
	return probs
}
