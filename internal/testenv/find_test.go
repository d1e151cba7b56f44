package testenv

import (
	"context"
	"errors"
	"testing"
)

func TestFindPrefersTheEnvironmentThenTheLocalDefault(t *testing.T) {
	down := errors.New("connection refused")
	pingOnly := func(up string) func(string) error {
		return func(u string) error {
			if u == up {
				return nil
			}
			return down
		}
	}
	noContainer := func(context.Context) (string, error) {
		t.Fatal("a container started though the service answers")
		return "", nil
	}

	t.Setenv("STXGATE_FIND_TEST_URL", "db://ci")
	if u, err := find("STXGATE_FIND_TEST_URL", "db://local", "127.0.0.1:1", pingOnly("db://local"), noContainer); u != "db://ci" || err != down {
		t.Errorf("set but not answering: %q, %v; want db://ci and the ping's error", u, err)
	}
	if u, err := find("STXGATE_FIND_TEST_URL", "db://local", "127.0.0.1:1", pingOnly("db://ci"), noContainer); u != "db://ci" || err != nil {
		t.Errorf("set: %q, %v", u, err)
	}
	t.Setenv("STXGATE_FIND_TEST_URL", "")
	if u, err := find("STXGATE_FIND_TEST_URL", "db://local", "127.0.0.1:1", pingOnly("db://local"), noContainer); u != "db://local" || err != nil {
		t.Errorf("unset, local answers: %q, %v", u, err)
	}
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1") // no engine there
	if u, err := find("STXGATE_FIND_TEST_URL", "db://local", "127.0.0.1:1", pingOnly(""), noContainer); u != "" ||
		err == nil || err.Error() != "STXGATE_FIND_TEST_URL unset, nothing on 127.0.0.1:1, no Docker engine" {
		t.Errorf("nothing answers: %q, %v", u, err)
	}
}
