package workflows

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWorkerLetsRunningActivitiesFinish: a stopping worker waits for its
// running activities (it cancelled them at once, with no stop timeout),
// and for less than the grace the deploy files give a container after
// SIGTERM, which they say is for exactly that.
func TestWorkerLetsRunningActivitiesFinish(t *testing.T) {
	stop := workerOptions().WorkerStopTimeout
	require.Positive(t, stop)
	compose, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	graces := regexp.MustCompile(`stop_grace_period: (\d+)s`).FindAllSubmatch(compose, -1)
	require.NotEmpty(t, graces)
	for _, g := range graces {
		seconds, err := strconv.Atoi(string(g[1]))
		require.NoError(t, err)
		require.Less(t, stop, time.Duration(seconds)*time.Second, "within docker-compose.yml's stop_grace_period")
	}
}
