package main

import (
	"os"
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
