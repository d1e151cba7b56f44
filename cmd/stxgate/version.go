package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the build: go build -ldflags "-X main.version=v1.2.3 -X main.commit=<sha>"
// (make build and deploy/Dockerfile do). Without them the version control
// information Go stamps into the binary is used.
var (
	version string
	commit  string
)

func versionLine() string {
	info, _ := debug.ReadBuildInfo()
	return describe(version, commit, info)
}

// describe is "stxgate <version> (commit <sha>[, <time>][, modified]) <go> <os/arch>".
func describe(version, commit string, info *debug.BuildInfo) string {
	var vcsTime string
	modified := false
	goVersion := runtime.Version()
	if info != nil {
		goVersion = info.GoVersion
		if version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					commit = s.Value
				}
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	parts := []string{"commit " + orUnknown(commit)}
	if vcsTime != "" {
		parts = append(parts, vcsTime)
	}
	if modified {
		parts = append(parts, "modified")
	}
	return fmt.Sprintf("stxgate %s (%s) %s %s/%s", version, strings.Join(parts, ", "), goVersion, runtime.GOOS, runtime.GOARCH)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
