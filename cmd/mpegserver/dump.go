package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"

	"github.com/mpegcoder-go/mpegserver"
)

func runDump(e env, args []string) error {
	fs := newFlagSet(e, "dump", "[flags] [ADDRESS]", "Prints the gst-launch-1.0 line the flags compile to, without connecting.\n"+
		"Swap `appsrc ...` for `videotestsrc is-live=true` (and, with --audio, the second for\n"+
		"`audiotestsrc is-live=true`) and it runs as printed.")
	sf := addStreamFlags(fs)
	af := addAudioFlags(fs)
	dotFile := fs.String("dot", "", "also write the pipeline graph (Graphviz DOT, pipeline in READY state) to this file")
	pngFile := fs.String("png", "", "also render the graph to this PNG file (needs Graphviz's dot)")
	addr, err := fs.parseAddress(args)
	if err != nil {
		return err
	}
	if err := af.check(given(fs)); err != nil {
		return err
	}
	s, err := sf.server(nil, af.option()...)
	if err != nil {
		return err
	}
	if addr != "" {
		s.ResetPath(addr)
	}
	line, err := s.LaunchLine()
	if err != nil {
		return configError(err)
	}
	fmt.Fprintln(e.stdout, line)
	if *dotFile == "" && *pngFile == "" {
		return nil
	}
	dot, err := mpegserver.DotGraph(s.Config())
	if err != nil {
		return err
	}
	if *dotFile != "" {
		if err := os.WriteFile(*dotFile, []byte(dot), 0o644); err != nil {
			return err
		}
	}
	if *pngFile != "" {
		if _, err := exec.LookPath("dot"); err != nil {
			return fmt.Errorf("--png needs Graphviz's dot (apt-get install graphviz); --dot writes the graph without it")
		}
		cmd := exec.Command("dot", "-Tpng", "-o", *pngFile)
		cmd.Stdin = bytes.NewReader([]byte(dot))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("dot: %v: %s", err, out)
		}
	}
	return nil
}
