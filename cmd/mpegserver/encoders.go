package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mpegcoder-go/mpegserver"
)

func runEncoders(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("encoders", "", "Lists the H.264/H.265 encoders GStreamer has on this machine, which the\n"+
		"library drives, and the --codec names that select each.", stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("encoders takes no arguments")
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ELEMENT\tCODEC\tKIND\tINSTALLED\tDRIVEN\t--codec NAMES")
	for _, e := range mpegserver.Encoders() {
		kind := "software"
		if e.Hardware {
			kind = "hardware"
		}
		names := strings.Join(e.Names, ", ")
		if names == "" {
			names = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Element, e.Family, kind, yesNo(e.Installed), yesNo(e.Driven), names)
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
