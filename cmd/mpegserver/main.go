// Command mpegserver pushes frames to a live stream (RTSP, RTMP, SRT,
// MPEG-TS over UDP, HLS) or a file: a test pattern it draws, raw frames
// read from standard input, or a video file or stream it decodes. Without
// an address it starts its own RTSP server first, so `mpegserver push`
// works out of the box.
//
//	mpegserver push [flags] [ADDRESS]   serve frames (testsrc or stdin)
//	mpegserver serve [flags]            run only the embedded RTSP server
//	mpegserver dump [flags] [ADDRESS]   print the gst-launch-1.0 line
//	mpegserver encoders                 list the encoders on this machine
//
// Exit codes: 0 success, 1 runtime failure, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// usageError marks errors in what the user typed (exit code 2).
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// env is what a command reads and writes: its context (cancelled by
// Ctrl-C or SIGTERM in main) and its standard streams. Tests run commands
// in-process with their own.
type env struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	name, args, summary string
	run                 func(e env, args []string) error
}

var commands = []command{
	{"push", "[flags] [ADDRESS]", "serve frames to ADDRESS (default: an embedded server on 127.0.0.1:8554)", runPush},
	{"serve", "[flags]", "run only the embedded RTSP server, for viewing or relaying", runServe},
	{"dump", "[flags] [ADDRESS]", "print the gst-launch-1.0 line for the flags, without connecting", runDump},
	{"encoders", "", "list the video encoders on this machine and the codec names that select them", runEncoders},
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "mpegserver pushes frames to a live stream or a file through GStreamer.\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  mpegserver %-8s %-18s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintf(w, "\nRun `mpegserver COMMAND --help` for a command's flags.\n")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first Ctrl-C or SIGTERM ends the run, which flushes what was
		// served within --close-timeout; a second one quits at once.
		<-ctx.Done()
		stop()
	}()
	code := run(env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes a command line and returns the exit code.
func run(e env, args []string) int {
	stdout, stderr := e.stdout, e.stderr
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(e, args[1:])
		var ue usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "mpegserver %s: %v\nRun `mpegserver %s --help` for usage.\n", name, err, name)
			return 2
		default:
			fmt.Fprintf(stderr, "mpegserver %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "mpegserver: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

// flagSet is a command's flags and its help text.
type flagSet struct {
	*flag.FlagSet
	name, args, summary string
	stdout              io.Writer
}

// newFlagSet returns a flag set whose errors are returned, not fatal.
// --help prints the usage to standard output (exit 0); a bad flag gets a
// one-line error from run (exit 2), not the whole usage.
func newFlagSet(e env, name, args, summary string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // flag calls it on errors too; parse prints help itself
	return &flagSet{FlagSet: fs, name: name, args: args, summary: summary, stdout: e.stdout}
}

func (fs *flagSet) help() {
	fmt.Fprintf(fs.stdout, "Usage: mpegserver %s %s\n\n%s\n\nFlags:\n", fs.name, fs.args, fs.summary)
	fs.SetOutput(fs.stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses flags, allowing them after positional arguments too
// (`push rtsp://host/x --duration 5s`), and returns the positionals.
func (fs *flagSet) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help()
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseAddress parses flags and at most one ADDRESS ("" when none).
func (fs *flagSet) parseAddress(args []string) (string, error) {
	pos, err := fs.parse(args)
	if err != nil {
		return "", err
	}
	switch len(pos) {
	case 0:
		return "", nil
	case 1:
		if strings.HasPrefix(pos[0], "-") {
			return "", usagef("unexpected %q", pos[0])
		}
		return pos[0], nil
	}
	return "", usagef("one ADDRESS at most, got %d: %s", len(pos), strings.Join(pos, " "))
}
