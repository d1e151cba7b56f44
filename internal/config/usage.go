package config

import (
	"fmt"
	"io"
	"strings"
)

// PrintSettings writes every setting for -h: its flag and type, what it
// does, its variable and default, and the value the environment gives it
// now (through Var.Show: secrets never appear).
func PrintSettings(w io.Writer, getenv func(string) string) {
	for _, v := range Vars {
		if v.Flag != "" {
			fmt.Fprintf(w, "  -%s %s\n", v.Flag, v.Type)
		} else {
			fmt.Fprintf(w, "  %s (environment only: a secret is never a flag)\n", v.Env)
		}
		for _, line := range wrap(v.Help, 80) {
			fmt.Fprintf(w, "        %s\n", line)
		}
		def := "none"
		if v.Default != "" {
			def = fmt.Sprintf("%q", v.Default)
		}
		src := fmt.Sprintf("env %s, default %s", v.Env, def)
		if v.Flag == "" {
			src = "default " + def
		}
		if now := getenv(v.Env); now != "" {
			src += fmt.Sprintf("; set in the environment to %q", v.Show(now))
		}
		fmt.Fprintf(w, "        (%s)\n", src)
	}
}

// wrap splits s into lines of at most width characters at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}
