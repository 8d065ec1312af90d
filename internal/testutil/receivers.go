package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nginxModule is Debian's libnginx-mod-rtmp.
const nginxModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// RTMPServer is nginx with the RTMP module, run by one test on a free
// loopback port, recording every published stream to Dir/<name>.flv.
type RTMPServer struct {
	URL  string // rtmp://127.0.0.1:port/live
	Dir  string // where recordings go
	log  string
	conf string
	addr string
	cmd  *exec.Cmd
	hold *reservation // RunRTMP's port, kept while the server is referenced
}

// StartRTMP starts nginx-rtmp for one test (stopped when it ends). It
// skips when nginx or its RTMP module is not installed (make deps).
func StartRTMP(t testing.TB) *RTMPServer {
	t.Helper()
	NeedTool(t, "nginx")
	if _, err := os.Stat(nginxModule); err != nil {
		t.Skip("libnginx-mod-rtmp not installed (make deps)")
	}
	s, err := runRTMP(t.TempDir(), FreePort(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// RunRTMP starts nginx-rtmp on a free loopback port with its files in dir
// and waits until it listens; Stop ends it. The port stays reserved until
// the process ends, so Restart finds it free.
func RunRTMP(dir string) (*RTMPServer, error) {
	r, err := reserve()
	if err != nil {
		return nil, err
	}
	s, err := runRTMP(dir, r.port)
	if err != nil {
		r.lock.Close()
		return nil, err
	}
	s.hold = r
	return s, nil
}

func runRTMP(dir string, port int) (*RTMPServer, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &RTMPServer{URL: "rtmp://" + addr + "/live", Dir: filepath.Join(dir, "rec"), log: filepath.Join(dir, "error.log")}
	if err := os.Mkdir(s.Dir, 0o755); err != nil {
		return nil, err
	}
	// One process, in the foreground, writing only inside dir.
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[2]s info;
load_module %[3]s;
events { worker_connections 64; }
rtmp {
  server {
    listen %[4]s;
    application live {
      live on;
      record all;
      record_path %[5]s;
      record_unique off;
    }
  }
}
`, dir, s.log, nginxModule, addr, s.Dir)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	s.conf, s.addr = confPath, addr
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *RTMPServer) start() error {
	s.cmd = exec.Command("nginx", "-c", s.conf, "-p", filepath.Dir(s.conf), "-e", s.log)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	if err := waitListening(s.addr); err != nil {
		s.Stop()
		return err
	}
	return nil
}

// Restart starts nginx again on the same port after Stop.
func (s *RTMPServer) Restart() error {
	s.Stop()
	return s.start()
}

// Stop ends nginx (idempotent).
func (s *RTMPServer) Stop() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// WaitLog waits until nginx's log has n lines containing substr
// (a publisher that leaves logs "deleteStream" twice, the second after
// its recording is closed; a connection alone, as Setup's probe makes,
// logs "disconnect").
func (s *RTMPServer) WaitLog(t testing.TB, substr string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, _ := os.ReadFile(s.log)
		if strings.Count(string(b), substr) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not log %q %d times within %v:\n%s", substr, n, within, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitListening waits until a TCP port accepts connections.
func waitListening(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SRTReceiver is srt-live-transmit listening on a free loopback UDP port
// and writing what one caller sends to a file; it exits when the caller
// disconnects.
type SRTReceiver struct {
	Port int
	File string
	receiver
}

// receiver is a receiving process run for one test.
type receiver struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	errb strings.Builder
}

// start starts cmd, which ends when the test does at the latest; then
// when set runs once it has exited.
func (r *receiver) start(t testing.TB, cmd *exec.Cmd, then func()) {
	t.Helper()
	r.cmd, r.done = cmd, make(chan struct{})
	r.cmd.Stderr = &r.errb
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = r.cmd.Wait()
		if then != nil {
			then()
		}
		close(r.done)
	}()
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); <-r.done })
}

// wait waits for the process to exit by itself (after what, said in the
// error when it does not within the bound) and returns its stderr.
func (r *receiver) wait(t testing.TB, within time.Duration, after string) string {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(within):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Errorf("%s did not exit within %v after %s", filepath.Base(r.cmd.Path), within, after)
	}
	return r.errb.String()
}

// StartSRT starts the receiver for one test. It skips when srt-tools is
// not installed (make deps).
func StartSRT(t testing.TB, query string) *SRTReceiver {
	t.Helper()
	return StartSRTOn(t, FreePort(t), query)
}

// StartSRTOn is StartSRT on a given port (a receiver that comes back on
// the port of one that went: FreePort keeps it for the test).
func StartSRTOn(t testing.TB, port int, query string) *SRTReceiver {
	t.Helper()
	NeedTool(t, "srt-live-transmit")
	r := &SRTReceiver{Port: port, File: filepath.Join(t.TempDir(), "srt.ts")}
	f, err := os.Create(r.File)
	if err != nil {
		t.Fatal(err)
	}
	uri := fmt.Sprintf("srt://127.0.0.1:%d?mode=listener%s", r.Port, query)
	// -a:no: exit once the caller has gone, with the file complete.
	cmd := exec.Command("srt-live-transmit", "-a:no", "-q", uri, "file://con")
	cmd.Stdout = f
	r.start(t, cmd, func() { f.Close() })
	WaitUDPBound(t, r.Port)
	return r
}

// Kill stops the receiver at once, as a crash would.
func (r *SRTReceiver) Kill() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// Wait waits for the receiver to exit (its caller gone) and returns what
// it printed on stderr.
func (r *SRTReceiver) Wait(t testing.TB, within time.Duration) string {
	t.Helper()
	return r.wait(t, within, "the caller left")
}

// UDPReceiver is ffmpeg listening on a free loopback UDP port and copying
// every stream of the MPEG-TS it receives into a file; it exits 2 s
// after the last datagram.
type UDPReceiver struct {
	Port int
	File string
	receiver
}

// StartUDP starts the receiver for one test. It skips without ffmpeg.
func StartUDP(t testing.TB) *UDPReceiver {
	t.Helper()
	NeedTool(t, "ffmpeg")
	r := &UDPReceiver{Port: FreePort(t), File: filepath.Join(t.TempDir(), "udp.ts")}
	r.start(t, exec.Command("ffmpeg", "-v", "error", "-i", fmt.Sprintf("udp://127.0.0.1:%d?timeout=2000000&fifo_size=100000", r.Port),
		"-map", "0", "-c", "copy", "-y", r.File), nil)
	WaitUDPBound(t, r.Port)
	return r
}

// URL is where a sender sends.
func (r *UDPReceiver) URL() string { return fmt.Sprintf("udp://127.0.0.1:%d", r.Port) }

// Wait waits for the receiver to exit (its read time-out, which ffmpeg
// reports as an error) and returns what it printed on stderr.
func (r *UDPReceiver) Wait(t testing.TB, within time.Duration) string {
	t.Helper()
	return r.wait(t, within, "the last datagram")
}

// WaitUDPBound waits until something on this machine has bound the UDP
// port (a receiver is ready before the first datagram leaves).
func WaitUDPBound(t testing.TB, port int) {
	t.Helper()
	hex := fmt.Sprintf(":%04X ", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			t.Skip("no /proc/net/udp")
		}
		if strings.Contains(string(b), hex) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing bound UDP port %d", port)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
