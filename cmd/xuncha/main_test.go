package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/xuncha/xuncha/internal/testenv"
)

// runMainEnv makes the test binary run main with the arguments after
// "--", to see the exit status an operator's shell sees.
const runMainEnv = "XUNCHA_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) != "" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"xuncha"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	// The tests read the commands' English (cliLang): an English locale
	// unless a test sets its own (TestCalendarCLIMatchesAPI checks the
	// Chinese).
	for name, v := range map[string]string{"LC_ALL": "", "LC_MESSAGES": "", "LANG": "en_US.UTF-8"} {
		_ = os.Setenv(name, v)
	}
	os.Exit(testenv.Run(m))
}

// runs numbers the test runs of this process (go test -count=N).
var runs atomic.Int64

// perRun is prefix with the number of this run: a request_id whose
// subject's ID (derived from it) the dev server, shared by the runs, has
// not seen, so that a run does not meet the workflow an earlier run
// started, whose payloads another run's key encrypted.
func perRun(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, runs.Add(1))
}
