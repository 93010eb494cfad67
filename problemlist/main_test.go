package problemlist_test

import (
	"os"
	"testing"

	"github.com/xuncha/xuncha/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
