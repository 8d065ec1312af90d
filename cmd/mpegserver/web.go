package main

import (
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/mpegcoder-go/mpegserver/rtspserver"
	"github.com/mpegcoder-go/mpegserver/webview"
)

// webFlags are the browser view's flags, shared by serve and push.
type webFlags struct {
	addr   *string
	public *bool
	given  bool // --http was on the command line
}

func addWebFlags(fs *flagSet) webFlags {
	return webFlags{
		addr: fs.String("http", webview.DefaultAddress, "where the browser view listens: http://ADDR/PATH plays PATH over WebRTC (\"\" turns it off)"),
		public: fs.Bool("http-public", false, "offer WebRTC on every interface, for viewers on other machines "+
			"(default: loopback candidates only; give --http 0.0.0.0:8889 too)"),
	}
}

// runningView is the started browser view, or a stand-in that does nothing.
type runningView struct {
	s   *webview.Server
	url func(path string) string
}

func (v runningView) Close() {
	if v.s != nil {
		v.s.Close()
	}
}

// start starts the browser view on relay, unless --http is "".
func (w webFlags) start(e env, fs *flagSet, relay *rtspserver.Server, logf func(string, ...any)) (runningView, error) {
	fs.Visit(func(f *flag.Flag) { w.given = w.given || f.Name == "http" })
	if *w.addr == "" {
		return runningView{}, nil
	}
	if err := checkListen("--http", *w.addr); err != nil {
		return runningView{}, err
	}
	if host, _, _ := net.SplitHostPort(*w.addr); !*w.public && !isLoopback(host) {
		return runningView{}, usagef("--http %s is not a loopback address: add --http-public to show the stream to other machines", *w.addr)
	}
	s := &webview.Server{Relay: relay, Address: *w.addr, Public: *w.public}
	s.Logf = logf
	if err := s.Start(); err != nil {
		err = fmt.Errorf("%v\nSomething already listens there: pick another --http (127.0.0.1:0 picks a free port), or --http \"\" for no browser view", err)
		if w.given {
			return runningView{}, err
		}
		// The default address taken (another mpegserver): go on without.
		fmt.Fprintf(e.stderr, "no browser view: %v\n", err)
		return runningView{}, nil
	}
	return runningView{s: s, url: s.URL}, nil
}

// isLoopback says whether a host names this machine only: a loopback IP,
// or localhost.
func isLoopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return strings.EqualFold(strings.TrimSuffix(host, "."), "localhost")
}

// checkListen refuses an address to listen on that cannot work, as a
// usage error: what the user typed is wrong.
func checkListen(flagName, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("%s %q: want HOST:PORT (%v)", flagName, addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return usagef("%s %q: the port must be a number from 0 to 65535 (0 picks a free one)", flagName, addr)
	}
	return nil
}
