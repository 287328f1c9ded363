package crashtest

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// Command returns the test binary run again as a child process that runs only the test
// named run, with env added to its environment and its standard error the parent's; ctx
// kills it if the test runs out of time. The caller sets its standard output and starts it.
func Command(ctx context.Context, run string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+run+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// RequireKilled requires that err, what a child's Wait returned, says the child died of
// SIGKILL, not on its own before (output, what it printed, is shown then).
func RequireKilled(t *testing.T, err error, output string) {
	t.Helper()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the child ended on its own:\n%s", output)
	ws, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.Equal(t, syscall.SIGKILL, ws.Signal(), "the child died of SIGKILL")
}
