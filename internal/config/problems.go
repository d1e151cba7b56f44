package config

import (
	"fmt"
	"slices"
	"strings"
)

// Error is every problem of a configuration, found in one pass.
type Error struct {
	Problems []string // one per line, in the order of Vars
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid configuration (%d problems):\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// flagProblem words a flag package error plainly, naming the nearest flag.
func flagProblem(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var flags []string
		for _, v := range Vars {
			if v.Flag != "" {
				flags = append(flags, v.Flag)
			}
		}
		if near := nearest(name, flags); near != "" {
			return fmt.Sprintf("unknown flag -%s: did you mean -%s?", name, near)
		}
		return fmt.Sprintf("unknown flag -%s (stxgate -h lists the flags)", name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("flag -%s needs a value", name)
	}
	return Redact(msg)
}

// clientVars are read by stxgatectl and the SDK examples, not by the
// gateway: often exported in the same shell, they are not typos.
var clientVars = []string{"STXGATE_URL", "STXGATE_PRIVATE_KEY", "STXGATE_API_KEY"}

func known(env string) bool {
	return slices.ContainsFunc(Vars, func(v Var) bool { return v.Env == env }) || slices.Contains(clientVars, env)
}

// Unknown is a STXGATE_* variable that no setting reads.
type Unknown struct {
	Name    string
	Nearest string // the known setting it most likely means; "" when none is close
}

func (u Unknown) String() string {
	if u.Nearest != "" {
		return fmt.Sprintf("%s is not a stxgate setting and is ignored: did you mean %s?", u.Name, u.Nearest)
	}
	return fmt.Sprintf("%s is not a stxgate setting and is ignored (stxgate -h lists them)", u.Name)
}

// UnknownVars finds the STXGATE_* variables of environ ("NAME=value", as
// os.Environ gives them) that no setting reads, typos most often.
func UnknownVars(environ []string) []Unknown {
	var names []string
	for _, v := range Vars {
		names = append(names, v.Env)
	}
	var out []Unknown
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "STXGATE_") || known(name) {
			continue
		}
		out = append(out, Unknown{Name: name, Nearest: nearest(name, names)})
	}
	slices.SortFunc(out, func(a, b Unknown) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// nearest is the candidate closest to s by edit distance, if it is close
// enough to be a typo of it (at most a third of s's length, and 4).
func nearest(s string, candidates []string) string {
	best, bestDist := "", min(4, len(s)/3)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToUpper(s), strings.ToUpper(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
