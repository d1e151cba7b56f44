package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every command's -h (and each group's) prints its help on stdout and
// exits 0 without touching a gateway or a key; testdata/help.golden holds
// them all.
func TestCommandHelpGolden(t *testing.T) {
	var invocations [][]string
	for _, g := range groups {
		invocations = append(invocations, []string{g, "-h"})
	}
	var names []string
	for name := range commandHelp {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		invocations = append(invocations, append(strings.Fields(name), "-h"))
	}
	var all strings.Builder
	for _, args := range invocations {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
		if code != exitOK || errOut.Len() != 0 {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errOut.String())
		}
		fmt.Fprintf(&all, "$ stxgatectl %s\n%s\n", strings.Join(args, " "), out.String())
	}
	golden(t, "help.golden", all.String())
}

// The other spellings reach the same help.
func TestCommandHelpSpellings(t *testing.T) {
	help := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	want, _, _ := help("keys", "create", "-h")
	for _, args := range [][]string{{"help", "keys", "create"}, {"keys", "create", "--help"}, {"-h", "keys", "create"}, {"keys", "create", "--name", "x", "-h"}} {
		if got, errOut, code := help(args...); code != exitOK || got != want || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q, same help: %t", args, code, errOut, got == want)
		}
	}
	group, _, _ := help("keys", "-h")
	if got, _, code := help("help", "keys"); code != exitOK || got != group {
		t.Errorf("help keys: exit %d", code)
	}
	for args, wantErr := range map[string]string{
		"keys bogus -h": "stxgatectl: keys bogus: unknown command (stxgatectl keys -h lists them)\nRun 'stxgatectl help' for usage.\n",
		"help bogus":    "stxgatectl: unknown command \"bogus\"\nRun 'stxgatectl help' for usage.\n",
	} {
		if out, errOut, code := help(strings.Fields(args)...); code != exitUsage || errOut != wantErr || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// Every command the overview lists has help of its own.
func TestEveryListedCommandHasHelp(t *testing.T) {
	listed := regexp.MustCompile(`(?m)^  (wallet|sign|keys|orders|admin) ([a-z|]+)|^  (wait)\b`)
	for _, m := range listed.FindAllStringSubmatch(usageText, -1) {
		if m[3] != "" {
			if _, ok := commandHelp[m[3]]; !ok {
				t.Errorf("%s has no help", m[3])
			}
			continue
		}
		for _, sub := range strings.Split(m[2], "|") {
			if _, ok := commandHelp[m[1]+" "+sub]; !ok {
				t.Errorf("%s %s has no help (commandHelp)", m[1], sub)
			}
		}
	}
}
