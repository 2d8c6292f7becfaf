package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// envKeys returns the keys of every object constructor in e: the variables an `environment`
// expression (merge(var.environment, {...}), a conditional's branches) can set.
func envKeys(e hclsyntax.Expression) []string {
	var keys []string
	hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		obj, ok := n.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return nil
		}
		for _, item := range obj.Items {
			if k := hcl.ExprAsKeyword(item.KeyExpr); k != "" {
				keys = append(keys, k)
			} else if v, ok := literal(item.KeyExpr); ok && v.Type().FriendlyName() == "string" {
				keys = append(keys, v.AsString())
			}
		}
		return nil
	})
	return keys
}

// CheckTerraformEnv compares the environment terraform gives each service's Lambda (the root
// module's local.common_env and the service module's own additions) with what the code
// reads: platform, the platform's settings; each Service's Env and Optional, its own.
func CheckTerraformEnv(dir string, platform []string, services []Service) ([]string, error) {
	var probs []string
	root, err := ParseTerraform(dir)
	if err != nil {
		return nil, err
	}
	var common []string
	for _, b := range root.Blocks {
		if b.Type == "locals" {
			if a, ok := b.Body.Attributes["common_env"]; ok {
				common = envKeys(a.Expr)
			}
		}
	}
	if len(common) == 0 {
		probs = append(probs, "terraform: local.common_env (every service's environment) not found")
	}
	for _, k := range common {
		if !slices.Contains(platform, k) {
			probs = append(probs, fmt.Sprintf("terraform: local.common_env sets %s, which the platform does not read", k))
		}
	}
	for _, s := range services {
		mod, err := ParseTerraform(filepath.Join(dir, "modules", s.Name))
		if err != nil {
			return nil, err
		}
		for _, b := range mod.Blocks {
			if b.Type != "module" {
				continue
			}
			a, ok := b.Body.Attributes["environment"]
			if !ok {
				continue
			}
			for _, k := range envKeys(a.Expr) {
				if !slices.Contains(platform, k) && !slices.Contains(s.Env, k) && !slices.Contains(s.Optional, k) {
					probs = append(probs, fmt.Sprintf("terraform module %s: sets %s, which %s does not read", s.Name, k, s.Name))
				}
			}
		}
	}
	return probs, nil
}

// pythonEnvRead matches the soda job's reads of its environment.
var pythonEnvRead = regexp.MustCompile(`(?:_env|os\.environ\.get|os\.environ\.setdefault)\(\s*"([A-Z0-9_]+)"`)

// CheckSodaEnv compares the environment terraform gives the Soda job's Lambda
// (aws_lambda_function.soda in dir) with the names its handler reads, so a renamed variable
// is caught here instead of as a silently missing alert in production.
func CheckSodaEnv(dir, handler string) ([]string, error) {
	src, err := os.ReadFile(handler)
	if err != nil {
		return nil, fmt.Errorf("soda handler: %w", err)
	}
	reads := map[string]bool{}
	for _, m := range pythonEnvRead.FindAllStringSubmatch(string(src), -1) {
		reads[m[1]] = true
	}
	root, err := ParseTerraform(dir)
	if err != nil {
		return nil, err
	}
	var probs []string
	found := false
	for _, b := range root.Blocks {
		if b.Type != "resource" || len(b.Labels) != 2 || b.Labels[0] != "aws_lambda_function" || b.Labels[1] != "soda" {
			continue
		}
		for _, env := range b.Body.Blocks {
			if env.Type != "environment" {
				continue
			}
			if a, ok := env.Body.Attributes["variables"]; ok {
				found = true
				for _, k := range envKeys(a.Expr) {
					if !reads[k] {
						probs = append(probs, fmt.Sprintf("terraform aws_lambda_function.soda: sets %s, which %s does not read", k, filepath.Base(handler)))
					}
				}
			}
		}
	}
	if !found {
		probs = append(probs, "terraform: aws_lambda_function.soda's environment variables not found")
	}
	return probs, nil
}
