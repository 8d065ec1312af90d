package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/mpegcoder-go/mpegserver"
)

func runEncoders(e env, args []string) error {
	fs := newFlagSet(e, "encoders", "", "Lists the H.264/H.265 encoders GStreamer has on this machine, which the\n"+
		"library drives, and the --codec names that select each.")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("encoders takes no arguments")
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ELEMENT\tCODEC\tKIND\tINSTALLED\tDRIVEN\t--codec NAMES")
	for _, enc := range mpegserver.Encoders() {
		kind := "software"
		if enc.Hardware {
			kind = "hardware"
		}
		names := strings.Join(enc.Names, ", ")
		if names == "" {
			names = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", enc.Element, enc.Family, kind, yesNo(enc.Installed), yesNo(enc.Driven), names)
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
