package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/mpegcoder-go/mpegserver"
)

func runEncoders(e env, args []string) error {
	fs := newFlagSet(e, "encoders", "", "Lists the video encoders the library drives, whether GStreamer has each on\n"+
		"this machine, and the --codec names that select each; then which encoder\n"+
		"the plain names h264 and hevc pick here.")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("encoders takes no arguments")
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ELEMENT\tCODEC\tKIND\tINSTALLED\t--codec NAMES")
	for _, enc := range mpegserver.Encoders() {
		kind := "software"
		if enc.Hardware {
			kind = "hardware"
		}
		names := strings.Join(enc.Names, ", ")
		if names == "" {
			names = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", enc.Element, enc.Family, kind, yesNo(enc.Installed), names)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, name := range []string{"h264", "hevc"} {
		el, hw := mpegserver.EncoderFor(name)
		switch {
		case el == "":
			fmt.Fprintf(e.stdout, "\n%s: no encoder installed\n", name)
		case hw:
			fmt.Fprintf(e.stdout, "\n%s: %s (hardware; software if it fails to start)\n", name, el)
		default:
			fmt.Fprintf(e.stdout, "\n%s: %s (software: no hardware encoder installed)\n", name, el)
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
