package deploytest

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mattn/go-shellwords"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"golang.org/x/mod/modfile"
)

// Stage is one FROM of a Dockerfile and the instructions after it.
type Stage struct {
	Base, Name string
	Ins        []Instruction
}

// Stages splits parsed instructions at each FROM.
func Stages(ins []Instruction) []Stage {
	var out []Stage
	for _, in := range ins {
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			s := Stage{Base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.Name = f[2]
			}
			out = append(out, s)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].Ins = append(out[len(out)-1].Ins, in)
		}
	}
	return out
}

// RuntimeBase is what a runtime image offers a binary: either nothing but the kernel (a
// static binary), or a dynamic loader and the shared libraries the image ships, with the
// newest symbol version of each versioned library family.
type RuntimeBase struct {
	Static bool
	// Interp is the ELF interpreter (amd64) and Libs the DT_NEEDED names the base can satisfy.
	Interp string
	Libs   []string
	// MaxVersion is the newest symbol version per family, e.g. GLIBC -> 2.36.
	MaxVersion map[string]string
	// CACerts: the image ships a CA bundle (otherwise the Dockerfile must install one).
	CACerts bool
}

// Runtime bases the Dockerfiles may use, by image name (see runtimeBaseKey).
var runtimeBases = map[string]RuntimeBase{
	// Distroless static: no libc at all, but /etc/ssl/certs, tzdata and a nonroot user.
	"gcr.io/distroless/static-debian12": {Static: true, CACerts: true},
	// Debian 12 slim: glibc 2.36; libstdc++6 and libgcc-s1 (GCC 12) are in the image as
	// dependencies of apt. No CA bundle: Dockerfiles install ca-certificates.
	"debian:12": {
		Interp: "/lib64/ld-linux-x86-64.so.2",
		Libs: []string{"ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0",
			"librt.so.1", "libresolv.so.2", "libutil.so.1", "libstdc++.so.6", "libgcc_s.so.1"},
		MaxVersion: map[string]string{"GLIBC": "2.36", "GLIBCXX": "3.4.30", "CXXABI": "1.3.13", "GCC": "12.0.0"},
	},
}

// runtimeBaseKey names an image's entry in runtimeBases: the repository, plus the major
// version for Debian (any Debian 12 tag offers the same libraries).
func runtimeBaseKey(image string) string {
	image, _, _ = strings.Cut(image, "@")
	repo, tag := image, ""
	if i := strings.LastIndex(image, ":"); i > 0 && !strings.Contains(image[i:], "/") {
		repo, tag = image[:i], image[i+1:]
	}
	if repo == "debian" && (strings.HasPrefix(tag, "12") || strings.HasPrefix(tag, "bookworm")) {
		return "debian:12"
	}
	return repo
}

// LookupRuntimeBase returns what an image offers a binary.
func LookupRuntimeBase(image string) (RuntimeBase, bool) {
	b, ok := runtimeBases[runtimeBaseKey(image)]
	return b, ok
}

// CheckBinary reports why an ELF binary would not start on the runtime base image.
func CheckBinary(bin, image string) []string {
	base, ok := LookupRuntimeBase(image)
	if !ok {
		return []string{fmt.Sprintf("runtime base %s: unknown; add what it ships to runtimeBases", image)}
	}
	f, err := elf.Open(bin)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", bin, err)}
	}
	defer f.Close()
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, _ := io.ReadAll(p.Open())
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	needed, err := f.ImportedLibraries()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		bad("%s: dynamic section: %v", bin, err)
	}
	if base.Static {
		if interp != "" || len(needed) > 0 {
			bad("%s is dynamically linked (interpreter %q, needs %v) but %s has no libc: build with CGO_ENABLED=0 or use a glibc base",
				filepath.Base(bin), interp, needed, image)
		}
		return probs
	}
	if interp != "" && interp != base.Interp {
		bad("%s: interpreter %s, %s has %s", filepath.Base(bin), interp, image, base.Interp)
	}
	for _, lib := range needed {
		if !slices.Contains(base.Libs, lib) {
			bad("%s needs %s, which %s does not ship", filepath.Base(bin), lib, image)
		}
	}
	syms, _ := f.ImportedSymbols()
	newest := map[string]string{}
	for _, s := range syms {
		family, v, ok := strings.Cut(s.Version, "_")
		if max, known := base.MaxVersion[family]; ok && known && versionLess(max, v) && versionLess(newest[family], v) {
			newest[family] = v
		}
	}
	for family, v := range newest {
		bad("%s needs %s_%s, %s has %s_%s", filepath.Base(bin), family, v, image, family, base.MaxVersion[family])
	}
	return probs
}

// versionLess compares dotted numeric versions ("" is the least).
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return a == "" && b != ""
}

// CheckReplaceCopies reports every local `replace` target of the module's go.mod that the
// Dockerfile's COPY lines do not bring into the build context: the build would stop with
// "replacement directory ... does not exist".
func CheckReplaceCopies(ins []Instruction, contextDir, moduleDir string) []string {
	gomod := filepath.Join(contextDir, moduleDir, "go.mod")
	src, err := os.ReadFile(gomod)
	if err != nil {
		return []string{err.Error()}
	}
	mf, err := modfile.Parse(gomod, src, nil)
	if err != nil {
		return []string{err.Error()}
	}
	var copied []string
	for _, st := range Stages(ins) {
		for _, in := range st.Ins {
			if in.Cmd == "COPY" && !strings.Contains(in.Args, "--from=") {
				f := strings.Fields(in.Args)
				for _, s := range f[:len(f)-1] {
					if !strings.HasPrefix(s, "--") {
						copied = append(copied, path.Clean(s))
					}
				}
			}
		}
	}
	var probs []string
	for _, r := range mf.Replace {
		if !modfile.IsDirectoryPath(r.New.Path) {
			continue
		}
		target := path.Clean(path.Join(moduleDir, r.New.Path))
		covered := slices.ContainsFunc(copied, func(c string) bool {
			return c == "." || target == c || strings.HasPrefix(target, c+"/")
		})
		if !covered {
			probs = append(probs, fmt.Sprintf("%s/go.mod replaces %s => %s, but no COPY copies %s",
				moduleDir, r.Old.Path, r.New.Path, target))
		}
	}
	return probs
}

// Replay is a Dockerfile's build stage run on the host.
type Replay struct {
	// Binary is the host path of the file the runtime stage copies from the build stage.
	Binary string
	// RuntimeBase is the final stage's FROM image.
	RuntimeBase string
	// Go is the toolchain the build stage's image carries (go1.27.3).
	Go string
}

var golangImage = regexp.MustCompile(`^golang:(\d+\.\d+\.\d+)`)

// ReplayBuild replays the build stage of dockerfile without Docker: root stands in for the
// stage's empty filesystem; COPY copies from contextDir (honouring .dockerignore) exactly
// what the line names, WORKDIR/ENV/ARG set the environment, and RUN runs its `go` commands
// there with the Go version of the stage's golang image. hostEnv supplies what the image's
// cache mounts and network would: the module and build caches and the proxy settings.
// It returns the binary the runtime stage copies out.
func ReplayBuild(ctx context.Context, contextDir, dockerfile, root string, hostEnv []string) (Replay, error) {
	ins, err := ParseDockerfile(dockerfile)
	if err != nil {
		return Replay{}, err
	}
	stages := Stages(ins)
	if len(stages) < 2 {
		return Replay{}, fmt.Errorf("%s: want a build stage and a runtime stage", dockerfile)
	}
	final := stages[len(stages)-1]
	var build *Stage
	var r Replay
	r.RuntimeBase = final.Base
	for _, in := range final.Ins {
		if in.Cmd != "COPY" || !strings.HasPrefix(in.Args, "--from=") {
			continue
		}
		f := strings.Fields(in.Args)
		from := strings.TrimPrefix(f[0], "--from=")
		for i := range stages {
			if stages[i].Name == from {
				build, r.Binary = &stages[i], f[1]
			}
		}
	}
	if build == nil {
		return r, fmt.Errorf("%s: the runtime stage copies nothing from a build stage", dockerfile)
	}
	m := golangImage.FindStringSubmatch(build.Base)
	if m == nil {
		return r, fmt.Errorf("%s: build stage base %s is not a golang:X.Y.Z image", dockerfile, build.Base)
	}
	r.Go = "go" + m[1]
	ignore, err := dockerignore(contextDir)
	if err != nil {
		return r, err
	}

	in := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	workdir := "/"
	env := map[string]string{}
	for _, ins := range build.Ins {
		switch ins.Cmd {
		case "WORKDIR":
			if path.IsAbs(ins.Args) {
				workdir = path.Clean(ins.Args)
			} else {
				workdir = path.Join(workdir, ins.Args)
			}
			if err := os.MkdirAll(in(workdir), 0o755); err != nil {
				return r, err
			}
		case "ENV", "ARG":
			for _, kv := range strings.Fields(ins.Args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = strings.Trim(v, `"`)
			}
		case "COPY":
			f := strings.Fields(ins.Args)
			var srcs []string
			for _, s := range f[:len(f)-1] {
				if strings.HasPrefix(s, "--from=") {
					return r, fmt.Errorf("COPY %s: the replay copies from the build context only", ins.Args)
				} else if !strings.HasPrefix(s, "--") {
					srcs = append(srcs, s)
				}
			}
			dst := f[len(f)-1]
			dstIsDir := strings.HasSuffix(dst, "/")
			if !path.IsAbs(dst) {
				dst = path.Join(workdir, dst)
			}
			for _, s := range srcs {
				if err := copyFromContext(contextDir, s, in(dst), dstIsDir, ignore); err != nil {
					return r, fmt.Errorf("COPY %s: %w", ins.Args, err)
				}
			}
		case "RUN":
			if err := replayRun(ctx, ins.Args, in, in(workdir), r.Go, env, hostEnv); err != nil {
				return r, err
			}
		}
	}
	r.Binary = in(r.Binary)
	return r, nil
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// replayRun runs one RUN line: `[VAR=value ...] go ...` commands joined by &&, which is all a
// Go build stage needs. Anything else is reported rather than guessed at.
func replayRun(ctx context.Context, line string, in func(string) string, dir, goVersion string, env map[string]string, hostEnv []string) error {
	f := strings.Fields(line)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") { // --mount=type=cache,...: the host's caches stand in
		f = f[1:]
	}
	script := strings.Join(f, " ")
	if strings.ContainsAny(script, ";|`") || strings.Contains(script, "$(") {
		return fmt.Errorf("RUN %s: the replay runs only `[VAR=value ...] go ...` commands joined by &&", script)
	}
	for _, cmdline := range strings.Split(script, "&&") {
		p := shellwords.NewParser()
		p.ParseEnv = true
		p.Getenv = func(k string) string { return env[k] }
		words, err := p.Parse(cmdline)
		if err != nil {
			return fmt.Errorf("RUN %s: %w", cmdline, err)
		}
		cmdEnv := append(slices.Clone(hostEnv), "GOTOOLCHAIN="+goVersion)
		for k, v := range env {
			cmdEnv = append(cmdEnv, k+"="+v)
		}
		for len(words) > 0 && assignment.MatchString(words[0]) {
			cmdEnv = append(cmdEnv, words[0])
			words = words[1:]
		}
		if len(words) == 0 || words[0] != "go" {
			return fmt.Errorf("RUN %s: the replay runs only `go` commands", cmdline)
		}
		args := words[1:]
		for i, a := range args { // container paths live under root
			if path.IsAbs(a) {
				args[i] = in(a)
			} else if k, v, ok := strings.Cut(a, "=/"); ok && strings.HasPrefix(k, "-") {
				args[i] = k + "=" + in("/"+v)
			}
		}
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = dir, cmdEnv
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("RUN %s: %w\n%s", strings.TrimSpace(cmdline), err, out)
		}
	}
	return nil
}

func dockerignore(contextDir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(contextDir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return patternmatcher.New(nil)
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return patternmatcher.New(patterns)
}

// copyFromContext copies src (relative to the context) as Docker's COPY does: a directory's
// contents into dst, a file into dst (or into dst/ when dst names a directory); files
// .dockerignore excludes are not in the context at all.
func copyFromContext(contextDir, src, dst string, dstIsDir bool, ignore *patternmatcher.PatternMatcher) error {
	src = path.Clean(src)
	if strings.HasPrefix(src, "..") || strings.ContainsAny(src, "*?[") {
		return fmt.Errorf("source %s: the replay copies plain paths inside the context", src)
	}
	base := filepath.Join(contextDir, filepath.FromSlash(src))
	st, err := os.Stat(base)
	if err != nil {
		return err // Docker: "failed to compute cache key: ... not found"
	}
	if !st.IsDir() {
		if dstIsDir {
			dst = filepath.Join(dst, filepath.Base(base))
		}
		return copyFile(base, dst, st.Mode())
	}
	return filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(contextDir, p)
		if skip, err := ignore.MatchesOrParentMatches(filepath.ToSlash(rel)); err != nil {
			return err
		} else if skip {
			if d.IsDir() && !ignore.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		within, _ := filepath.Rel(base, p)
		target := filepath.Join(dst, within)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			return copyFile(p, target, info.Mode())
		}
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
